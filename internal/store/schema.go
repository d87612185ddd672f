package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// A migration is one step of the schema, per engine. Steps are applied in
// order, each once, in one transaction with its record in
// dataops_schema_migrations; append new steps, never edit applied ones.
type migration struct {
	sqlite, postgres string
}

// migrations creates goqite's table and dataops' own. goqite v0.4.0 ships
// its schema as files for its users to run (schema_sqlite.sql,
// schema_postgres.sql) without exporting them, so they are copied here with
// three changes: "if not exists" everywhere, because another application may
// already keep its own queues in a goqite table in the same database; on
// PostgreSQL, ids come from the built-in gen_random_uuid() (13+) rather than
// pgcrypto's gen_random_bytes(), so that no extension (and no privilege to
// create one) is needed; and the trigger function has a goqite_ prefix
// instead of the generic update_timestamp().
//
// dataops' tables keep times as Unix milliseconds in a bigint, so that one
// query text serves both engines.
var migrations = []migration{
	{
		sqlite: `
create table if not exists goqite (
  id text primary key default ('m_' || lower(hex(randomblob(16)))),
  created text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  updated text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  queue text not null,
  body blob not null,
  timeout text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  received integer not null default 0,
  priority integer not null default 0
) strict;

create trigger if not exists goqite_updated_timestamp after update on goqite begin
  update goqite set updated = strftime('%Y-%m-%dT%H:%M:%fZ') where id = old.id;
end;

create index if not exists goqite_queue_priority_created_idx on goqite (queue, priority desc, created);

create table if not exists dataops_deliveries (
  host text not null,
  id text not null,
  event text not null,
  payload blob not null,
  received_at integer not null,
  primary key (host, id)
);
create index if not exists dataops_deliveries_received_at_idx on dataops_deliveries (received_at);

create table if not exists dataops_heads (
  repo text not null,
  pr integer not null,
  head_sha text not null,
  seen_at integer not null,
  primary key (repo, pr)
);

create table if not exists dataops_locks (
  key text primary key,
  owner text not null,
  expires_at integer not null
);

create table if not exists dataops_dead (
  id text primary key,
  envelope blob not null,
  attempts integer not null,
  last_error text not null,
  died_at integer not null
);
`,
		postgres: `
create table if not exists goqite (
  id text primary key default ('m_' || replace(gen_random_uuid()::text, '-', '')),
  created timestamptz not null default now(),
  updated timestamptz not null default now(),
  queue text not null,
  body bytea not null,
  timeout timestamptz not null default now(),
  received integer not null default 0,
  priority integer not null default 0
);

create or replace function goqite_update_timestamp()
returns trigger as $$
begin
   new.updated = now();
   return new;
end;
$$ language plpgsql;

drop trigger if exists goqite_updated_timestamp on goqite;
create trigger goqite_updated_timestamp
before update on goqite
for each row execute procedure goqite_update_timestamp();

create index if not exists goqite_queue_priority_created_idx on goqite (queue, priority desc, created);

create table if not exists dataops_deliveries (
  host text not null,
  id text not null,
  event text not null,
  payload bytea not null,
  received_at bigint not null,
  primary key (host, id)
);
create index if not exists dataops_deliveries_received_at_idx on dataops_deliveries (received_at);

create table if not exists dataops_heads (
  repo text not null,
  pr integer not null,
  head_sha text not null,
  seen_at bigint not null,
  primary key (repo, pr)
);

create table if not exists dataops_locks (
  key text primary key,
  owner text not null,
  expires_at bigint not null
);

create table if not exists dataops_dead (
  id text primary key,
  envelope bytea not null,
  attempts integer not null,
  last_error text not null,
  died_at bigint not null
);
`,
	},
	{
		// The checks' results per pull request, for the gate to be evaluated
		// again on a review without running the checks, and the
		// environments the bot made, for the sweep.
		sqlite: `
create table if not exists dataops_results (
  repo text not null,
  pr integer not null,
  head_sha text not null,
  results blob not null,
  updated_at integer not null,
  primary key (repo, pr)
);
create table if not exists dataops_environments (
  repo text not null,
  pr integer not null,
  name text not null,
  installation_id integer not null,
  ttl_ms integer not null,
  used_at integer not null,
  primary key (repo, pr)
);
`,
		postgres: `
create table if not exists dataops_results (
  repo text not null,
  pr integer not null,
  head_sha text not null,
  results bytea not null,
  updated_at bigint not null,
  primary key (repo, pr)
);
create table if not exists dataops_environments (
  repo text not null,
  pr integer not null,
  name text not null,
  installation_id bigint not null,
  ttl_ms bigint not null,
  used_at bigint not null,
  primary key (repo, pr)
);
`,
	},
	{
		// What the web pages show (web/): each run of the checks with its
		// stages and its whole report, the deploys and rollbacks, and more
		// about each environment. Reports are kept for serve.yml's
		// keep_runs and pruned by the sweep.
		sqlite: `
create table if not exists dataops_runs (
  id text primary key,
  repo text not null,
  pr integer not null,
  title text not null,
  head_sha text not null,
  trigger text not null,
  actor text not null,
  delivery_id text not null,
  attempt integer not null,
  status text not null,
  gate text not null,
  error text not null,
  stages text not null,
  report blob,
  started_at integer not null,
  updated_at integer not null,
  finished_at integer not null
);
create index if not exists dataops_runs_pr_idx on dataops_runs (repo, pr, started_at);
create index if not exists dataops_runs_started_at_idx on dataops_runs (started_at);

create table if not exists dataops_deploys (
  id text primary key,
  repo text not null,
  action text not null,
  pr integer not null,
  head_sha text not null,
  target text not null,
  actor text not null,
  outcome text not null,
  message text not null,
  relations text not null,
  at integer not null
);
create index if not exists dataops_deploys_repo_idx on dataops_deploys (repo, at);

alter table dataops_environments add column created_at integer not null default 0;
alter table dataops_environments add column head_sha text not null default '';
alter table dataops_environments add column size_rows integer not null default -1;
alter table dataops_environments add column size_bytes integer not null default -1;
`,
		postgres: `
create table if not exists dataops_runs (
  id text primary key,
  repo text not null,
  pr integer not null,
  title text not null,
  head_sha text not null,
  trigger text not null,
  actor text not null,
  delivery_id text not null,
  attempt integer not null,
  status text not null,
  gate text not null,
  error text not null,
  stages text not null,
  report bytea,
  started_at bigint not null,
  updated_at bigint not null,
  finished_at bigint not null
);
create index if not exists dataops_runs_pr_idx on dataops_runs (repo, pr, started_at);
create index if not exists dataops_runs_started_at_idx on dataops_runs (started_at);

create table if not exists dataops_deploys (
  id text primary key,
  repo text not null,
  action text not null,
  pr integer not null,
  head_sha text not null,
  target text not null,
  actor text not null,
  outcome text not null,
  message text not null,
  relations text not null,
  at bigint not null
);
create index if not exists dataops_deploys_repo_idx on dataops_deploys (repo, at);

alter table dataops_environments add column if not exists created_at bigint not null default 0;
alter table dataops_environments add column if not exists head_sha text not null default '';
alter table dataops_environments add column if not exists size_rows bigint not null default -1;
alter table dataops_environments add column if not exists size_bytes bigint not null default -1;
`,
	},
}

// Advisory lock keys (PostgreSQL), arbitrary but fixed: the first bytes of
// "dataops-store-migrate" and "dataops-store-receive".
const (
	migrateLockKey int64 = 0x64617461_6f70736d
	receiveLockKey int64 = 0x64617461_6f707372
)

// migrate applies the migrations not yet applied. Replicas starting together
// take turns: PostgreSQL through a transaction-scoped advisory lock (DDL is
// transactional there, so a replica that waited sees the tables and skips),
// SQLite through the write lock every transaction here takes when it begins.
func (s *Store) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.engine == enginePostgres {
			if _, err := tx.ExecContext(ctx, "select pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
				return fmt.Errorf("wait for other replicas' migrations: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `create table if not exists dataops_schema_migrations (
  version integer primary key,
  applied_at bigint not null
)`); err != nil {
			return err
		}
		var applied int
		if err := tx.QueryRowContext(ctx, "select coalesce(max(version), 0) from dataops_schema_migrations").Scan(&applied); err != nil {
			return err
		}
		if applied > len(migrations) {
			return fmt.Errorf("the database has schema version %d, newer than this dataops knows (%d): upgrade dataops", applied, len(migrations))
		}
		for i := applied; i < len(migrations); i++ {
			ddl := migrations[i].sqlite
			if s.engine == enginePostgres {
				ddl = migrations[i].postgres
			}
			if _, err := tx.ExecContext(ctx, ddl); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			if _, err := tx.ExecContext(ctx, s.rebind("insert into dataops_schema_migrations (version, applied_at) values (?, ?)"), i+1, time.Now().UnixMilli()); err != nil {
				return fmt.Errorf("record migration %d: %w", i+1, err)
			}
		}
		return nil
	})
}
