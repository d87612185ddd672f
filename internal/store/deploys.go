package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The deploys and rollbacks the bot ran, as its web pages show them. The
// warehouse keeps the record a rollback works from (dataops_meta, see
// internal/build/keep.go); this is the bot's own log of who asked for what
// and what came of it, so that the pages read the store only.

// Deploy log actions.
const (
	ActionDeploy   = "deploy"
	ActionRollback = "rollback"
)

// DeployRelation is one relation a deploy or rollback touched.
type DeployRelation struct {
	Relation string `json:"relation"` // schema.name, as the engine names it
	Kind     string `json:"kind,omitempty"`
	// Previous names the version a deploy replaced, kept beside it for a
	// rollback; empty when the deploy created the relation.
	Previous string `json:"previous,omitempty"`
	// State is what happened to it: deployed, restored, removed, or why
	// it was not.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

// DeployRecord is one deploy or rollback.
type DeployRecord struct {
	ID      string // unique; the warehouse's deploy id with the action
	Repo    string
	Action  string
	PR      int
	HeadSHA string
	Target  string // the production schema
	Actor   string
	// Outcome is "succeeded", "failed" or "partial"; Message says more.
	Outcome   string
	Message   string
	Relations []DeployRelation
	At        time.Time
}

// RecordDeploy logs a deploy or rollback; recording the same ID again
// replaces it (a deploy resumed after an interruption).
func (s *Store) RecordDeploy(ctx context.Context, d DeployRecord) error {
	if d.ID == "" || d.Repo == "" {
		return fmt.Errorf("record deploy: the id and the repository are required")
	}
	if d.At.IsZero() {
		d.At = time.Now()
	}
	rels := d.Relations
	if rels == nil {
		rels = []DeployRelation{}
	}
	enc, err := json.Marshal(rels)
	if err != nil {
		return fmt.Errorf("record deploy %s: %w", d.ID, err)
	}
	_, err = s.db.ExecContext(ctx, s.rebind(`insert into dataops_deploys (id, repo, action, pr, head_sha, target, actor, outcome, message, relations, at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
on conflict (id) do update set actor = excluded.actor, outcome = excluded.outcome, message = excluded.message, relations = excluded.relations, at = excluded.at`),
		d.ID, d.Repo, d.Action, d.PR, d.HeadSHA, d.Target, d.Actor, d.Outcome, d.Message, string(enc), d.At.UnixMilli())
	if err != nil {
		return fmt.Errorf("record deploy %s of %s: %w", d.ID, d.Repo, err)
	}
	return nil
}

// Deploys lists up to limit deploys and rollbacks of a repository, newest
// first.
func (s *Store) Deploys(ctx context.Context, repo string, limit int) ([]DeployRecord, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind("select id, repo, action, pr, head_sha, target, actor, outcome, message, relations, at from dataops_deploys where repo = ? order by at desc, id desc limit ?"), repo, limit)
	if err != nil {
		return nil, fmt.Errorf("list the deploys of %s: %w", repo, err)
	}
	defer rows.Close()
	var out []DeployRecord
	for rows.Next() {
		var (
			d    DeployRecord
			rels string
			at   int64
		)
		if err := rows.Scan(&d.ID, &d.Repo, &d.Action, &d.PR, &d.HeadSHA, &d.Target, &d.Actor, &d.Outcome, &d.Message, &rels, &at); err != nil {
			return nil, fmt.Errorf("list the deploys of %s: %w", repo, err)
		}
		if err := json.Unmarshal([]byte(rels), &d.Relations); err != nil {
			return nil, fmt.Errorf("deploy %s: its relations cannot be read: %w", d.ID, err)
		}
		d.At = time.UnixMilli(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the deploys of %s: %w", repo, err)
	}
	return out, nil
}
