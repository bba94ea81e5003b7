//! The workspace schema: append-only migrations tracked by `PRAGMA user_version`.
//!
//! Never edit a migration that has shipped; add the next one. Each table says what it holds,
//! so a person opening the file with `sqlite3` can read it.

/// The migrations, in order; migration `i` brings the schema to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    r#"
-- One row per tenant that has ever held state.
CREATE TABLE tenants (
    name         TEXT PRIMARY KEY,
    -- XOR of xxh3-128(external_id, record) over the tenant's users: moves whenever the state does.
    state_digest TEXT NOT NULL,
    user_count   INTEGER NOT NULL DEFAULT 0
);

-- The state: what the target platform holds, as roster last knew it.
CREATE TABLE users (
    tenant       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    -- The user as JSON with canonical field names; a password only as a salted hash.
    record       TEXT NOT NULL,
    -- xxh3-128 of (external_id, record), hex: lets a plan skip unchanged users cheaply.
    record_hash  TEXT NOT NULL,
    -- Ids the platforms assigned (eSystems `Id`, Field Squared `ObjectId`), JSON object.
    platform_ids TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant, external_id)
);

-- Stored plans: what a `roster plan` computed, to be applied exactly.
CREATE TABLE plans (
    id           INTEGER PRIMARY KEY,
    tenant       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    -- `plan`, `revert` or `state-load`.
    kind         TEXT NOT NULL,
    -- JSON list of the inputs: [{"file", "digest", "rows"}].
    inputs       TEXT NOT NULL,
    rules_digest TEXT NOT NULL,
    -- The tenant's state_digest when planned: apply refuses a plan whose state moved on.
    state_digest TEXT NOT NULL,
    sync         INTEGER NOT NULL,
    -- JSON counts: create, update, delete, unchanged, error, warning.
    summary      TEXT NOT NULL,
    -- For a revert plan: the apply it undoes.
    reverts      INTEGER
);

-- The changes of each plan, in order.
CREATE TABLE plan_changes (
    plan_id      INTEGER NOT NULL REFERENCES plans(id),
    seq          INTEGER NOT NULL,
    -- `create`, `update` or `delete`.
    action       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    -- file:line of the source row (or why, for a delete under --sync).
    source       TEXT,
    -- For an update: JSON [{"field", "before", "after"}], passwords as "(sensitive)";
    -- null for a create or delete, whose fields are the whole after or before record.
    fields       TEXT,
    -- The whole record before and after (JSON, null when absent).
    before       TEXT,
    after        TEXT,
    platform_ids TEXT,
    PRIMARY KEY (plan_id, seq)
);

-- The problems each plan found: rejected rows and warnings.
CREATE TABLE plan_problems (
    plan_id      INTEGER NOT NULL REFERENCES plans(id),
    seq          INTEGER NOT NULL,
    severity     TEXT NOT NULL,
    external_id  TEXT,
    source       TEXT,
    path         TEXT,
    field        TEXT,
    rule         TEXT NOT NULL,
    message      TEXT NOT NULL,
    PRIMARY KEY (plan_id, seq)
);

-- Passwords a plan sets, kept only until the plan is exported.
CREATE TABLE plan_secrets (
    plan_id      INTEGER NOT NULL REFERENCES plans(id),
    external_id  TEXT NOT NULL,
    password     TEXT NOT NULL,
    PRIMARY KEY (plan_id, external_id)
) WITHOUT ROWID;

-- Applies: which plan was applied when, with its counts. The before/after of each user is
-- the applied plan's plan_changes.
CREATE TABLE applies (
    id           INTEGER PRIMARY KEY,
    plan_id      INTEGER NOT NULL UNIQUE REFERENCES plans(id),
    tenant       TEXT NOT NULL,
    applied_at   TEXT NOT NULL,
    created      INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    deleted      INTEGER NOT NULL
);

-- Reference tables for FieldName lookups, per tenant.
CREATE TABLE ref_tables (
    tenant       TEXT NOT NULL,
    name         TEXT NOT NULL,
    -- JSON list of column names.
    columns      TEXT NOT NULL,
    source       TEXT NOT NULL,
    loaded_at    TEXT NOT NULL,
    PRIMARY KEY (tenant, name)
);

CREATE TABLE ref_rows (
    tenant       TEXT NOT NULL,
    table_name   TEXT NOT NULL,
    row_no       INTEGER NOT NULL,
    -- JSON list of cells, in the order of ref_tables.columns.
    cells        TEXT NOT NULL,
    PRIMARY KEY (tenant, table_name, row_no)
);

-- Each apply with what it changed, for people reading the file.
CREATE VIEW history AS
SELECT a.id AS apply_id, a.tenant, a.applied_at, c.action, c.external_id, c.before, c.after
FROM applies a JOIN plan_changes c ON c.plan_id = a.plan_id;
"#,
    r#"
-- What a vendor answered for each user of an exported batch (`roster results`): the last
-- word per plan, vendor, batch file and user.
CREATE TABLE vendor_results (
    plan_id      INTEGER NOT NULL REFERENCES plans(id),
    -- `servicepower`, `esystems` or `fieldsquared`.
    vendor       TEXT NOT NULL,
    -- The payload file, as named in the export's manifest.json.
    batch_file   TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    -- `accepted`, `warning`, `rejected` or `failed` (the batch failed as a whole).
    status       TEXT NOT NULL,
    -- The vendor's message, and where in the item it points (`Users[3].Email`).
    message      TEXT NOT NULL,
    path         TEXT,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (plan_id, vendor, batch_file, external_id)
);
"#,
    r#"
-- The fingerprint (xxh3-128 of the rules, the reference tables and the source row) of the
-- row that produced a user's record, kept only where running the rules on that row again
-- must give the same record: a later plan skips the rules for a row with this fingerprint.
-- Null for users a state load, a revert or an older roster wrote.
ALTER TABLE users ADD COLUMN source_fingerprint BLOB;

-- The fingerprint the apply stores with the change's after record (see users).
ALTER TABLE plan_changes ADD COLUMN source_fingerprint BLOB;

-- Users a plan leaves unchanged whose row has a fingerprint the state does not hold yet (new
-- rules or reference tables, or a user stored without one): the apply stores it. Kept only
-- for the tenant's newest unapplied plan, until it is applied.
CREATE TABLE plan_fingerprints (
    plan_id      INTEGER NOT NULL REFERENCES plans(id),
    external_id  TEXT NOT NULL,
    fingerprint  BLOB NOT NULL,
    PRIMARY KEY (plan_id, external_id)
) WITHOUT ROWID;
"#,
    r#"
-- The tenant's state_digest right after each apply: a plan's payloads still match the state
-- while the state is the one its apply left (export refuses them otherwise). Known for the
-- newest apply of each tenant; null for older applies of an older roster.
ALTER TABLE applies ADD COLUMN state_digest TEXT;
UPDATE applies SET state_digest = (SELECT t.state_digest FROM tenants t WHERE t.name = applies.tenant)
WHERE id = (SELECT max(a.id) FROM applies a WHERE a.tenant = applies.tenant);
"#,
    r#"
-- The source rows a plan rejected, as they came, for the rejects file the customer fixes
-- (`roster plan --rejects`, `roster report --rejects`). Clean rows are not kept.
CREATE TABLE plan_rejects (
    plan_id      INTEGER NOT NULL REFERENCES plans(id),
    -- Input order.
    seq          INTEGER NOT NULL,
    external_id  TEXT,
    -- file:line of the row.
    source       TEXT NOT NULL,
    -- JSON [[column, text], ...] in source order; a password cell is withheld as
    -- [column, null].
    cells        TEXT NOT NULL,
    -- The row's problems are plan_problems first_problem..last_problem (its errors among them).
    first_problem INTEGER NOT NULL,
    last_problem  INTEGER NOT NULL,
    PRIMARY KEY (plan_id, seq)
);

-- The mass-delete guard as the plan met it: JSON {"users": the tenant's users when planned,
-- "allowed_percent": the share it allowed, "default_percent": the share allowed unless raised}.
-- Null for a revert, and for plans an older roster made.
ALTER TABLE plans ADD COLUMN guard TEXT;
"#,
    r#"
-- How an apply came about: `apply` (the whole plan at once) or `push` (user by user, as the
-- vendor accepted them).
ALTER TABLE applies ADD COLUMN via TEXT NOT NULL DEFAULT 'apply';

-- Users of an apply whose change the state does not hold, because the vendor did not load it
-- (`roster results` or `roster push` recorded it rejected or failed): the state holds their
-- record from before the apply, so the next plan of the same input shows them again. A user
-- the vendor loads later is applied again and leaves this table.
CREATE TABLE rolled_back (
    apply_id       INTEGER NOT NULL REFERENCES applies(id),
    external_id    TEXT NOT NULL,
    vendor         TEXT NOT NULL,
    rolled_back_at TEXT NOT NULL,
    PRIMARY KEY (apply_id, external_id)
) WITHOUT ROWID;

-- Pushes: a stored plan sent to a vendor's API (`roster push`), one per plan and vendor.
CREATE TABLE pushes (
    plan_id      INTEGER NOT NULL REFERENCES plans(id),
    -- `servicepower`, `esystems` or `fieldsquared`.
    vendor       TEXT NOT NULL,
    -- The apply in which the state follows the vendor's answers.
    apply_id     INTEGER NOT NULL REFERENCES applies(id),
    -- Users per batch and the Field Squared workspace the push began with: a resumed push
    -- sends the same batches.
    batch_size   INTEGER NOT NULL,
    workspace    TEXT,
    started_at   TEXT NOT NULL,
    PRIMARY KEY (plan_id, vendor)
);

-- Each batch of a push and how far it got, written as it happens. No body is kept: a
-- batch is made again from the plan, the same bytes `export` writes.
CREATE TABLE push_batches (
    plan_id         INTEGER NOT NULL,
    vendor          TEXT NOT NULL,
    -- The batch's place, from 0, in the export's order; `file` is the name export gives it.
    seq             INTEGER NOT NULL,
    file            TEXT NOT NULL,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    -- JSON list of the keys of the batch's users, in order, and of the users an eSystems
    -- `DeleteNotExists` request deletes.
    keys            TEXT NOT NULL,
    deleted         TEXT NOT NULL,
    -- `pending`; `in_flight` (being sent: it may have reached the vendor); `acknowledged`
    -- (the vendor's word on each user is recorded); `failed` (retries used up, or refused
    -- as a whole: the next push sends it again).
    status          TEXT NOT NULL,
    -- JSON object of the users left out of later sends: `rejected` (named by the vendor) or
    -- `delivered` (a conflict on a create this push sent before).
    removed         TEXT NOT NULL DEFAULT '{}',
    -- How many times users were left out: a Field Squared batch sent without them is a new
    -- request, with a new RequestId.
    revision        INTEGER NOT NULL DEFAULT 0,
    -- 1 once a send may have reached the vendor without its answer: later sends use a form
    -- that cannot create a user twice (ServicePower creates as CUD 2).
    maybe_delivered INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- The last failure, for the person resuming.
    message         TEXT,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (plan_id, vendor, seq),
    FOREIGN KEY (plan_id, vendor) REFERENCES pushes (plan_id, vendor)
);
"#,
    r#"
-- vendor_results again, now WITHOUT ROWID: rows are small and always found by their key, so
-- each result is one B-tree entry instead of a row plus an index entry (a push records one
-- per user; this made recording a 100k-user push's answers cheaper, see BENCHMARKS.md).
CREATE TABLE vendor_results_by_key (
    plan_id      INTEGER NOT NULL REFERENCES plans(id),
    -- `servicepower`, `esystems` or `fieldsquared`.
    vendor       TEXT NOT NULL,
    -- The payload file, as named in the export's manifest.json.
    batch_file   TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    -- `accepted`, `warning`, `rejected` or `failed` (the batch failed as a whole).
    status       TEXT NOT NULL,
    -- The vendor's message, and where in the item it points (`Users[3].Email`).
    message      TEXT NOT NULL,
    path         TEXT,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (plan_id, vendor, batch_file, external_id)
) WITHOUT ROWID;
INSERT INTO vendor_results_by_key
SELECT plan_id, vendor, batch_file, external_id, status, message, path, recorded_at
FROM vendor_results;
DROP TABLE vendor_results;
ALTER TABLE vendor_results_by_key RENAME TO vendor_results;
"#,
    r#"
-- Rows that the rules rejected on their own, by their fingerprint (as users.source_fingerprint):
-- a later plan rejects a row with this fingerprint again without running the rules (see
-- docs/rules.md, "Rows seen before"). Written with the plan that met the row; each plan of
-- source files keeps only the fingerprints its own rows had.
CREATE TABLE rejected_rows (
    tenant       TEXT NOT NULL,
    fingerprint  BLOB NOT NULL,
    -- JSON {"op", "fields": the key and Unique fields the rules made, "problems": [{"severity",
    -- "key", "field", "rule", "message"}]}: what the rules said, without the row's place.
    -- Never a password: a row whose rules made one is not kept.
    rejection    TEXT NOT NULL,
    -- The newest plan that met a row with this fingerprint.
    last_plan    INTEGER NOT NULL,
    PRIMARY KEY (tenant, fingerprint)
) WITHOUT ROWID;
"#,
    r#"
-- The XOR of xxh3-128(external_id, after) over the creates and updates a plan wrote (hex), as
-- users.record_hash hashes a record: apply checks the records it puts against it instead of
-- parsing each one. Null for a plan made before roster kept it; apply parses those.
ALTER TABLE plans ADD COLUMN puts_digest TEXT;
"#,
    r#"
-- Where each top-level key of a user's record begins in its text, so a plan reads a field
-- (a `Unique` value) without parsing the record: LEB128 varints of the text's length, then
-- of each key's opening quote's distance from the one before, in the text's order (about a
-- byte a field). Null for users an older roster stored: those are parsed.
ALTER TABLE users ADD COLUMN field_places BLOB;

-- The field places of the change's after record (see users.field_places), which the apply
-- stores with it.
ALTER TABLE plan_changes ADD COLUMN after_field_places BLOB;
"#,
];
