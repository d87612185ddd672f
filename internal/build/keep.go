package build

// Keeping previous versions, for production deploys (blue/green).
//
// A deploy builds each model beside its relation and swaps it in, as every
// build does, but renames the version it replaces to a sibling named
// <name>__dataops_prev instead of dropping it. The sibling stays in the
// same schema because DuckDB cannot move a relation to another schema
// (ALTER ... SET SCHEMA is not implemented), and a rename within a schema
// is what both engines do atomically in a transaction.
//
// What a deploy replaced or created is recorded in the warehouse, in
// dataops_meta.deploys and dataops_meta.deploy_relations, so that any
// replica of the bot, a fresh process or the CI job can roll it back. Each
// relation's record row is written in the transaction that swaps the
// relation: the record can never list a swap that did not commit, nor miss
// one that did. dataops_meta is a plain schema (EnsureSchema, no
// environment marker): a marker would make it a pull request environment,
// listed by `dataops env list` and dropped by the TTL sweep with the deploy
// record in it. dataops never drops it.
//
// Per relation:
//   - a table, view or seed that existed is renamed to its __dataops_prev
//     sibling and the new version takes its name;
//   - an incremental model that would be merged in place is copied first:
//     the copy is merged and swapped in like a table, so the table as it was
//     becomes the previous version. A full copy costs what a rebuild of the
//     table's storage costs; it is what makes an in-place merge undoable.
//     (Deploy rebuilds modified incremental models in full, so only the
//     impacted ones downstream take this path.)
//   - a relation that did not exist is recorded as created: a rollback
//     drops it.
//
// Views and the previous versions: PostgreSQL binds a view to the tables
// it reads by identity, DuckDB by name. In PostgreSQL a view that read a
// replaced table follows it to the __dataops_prev name: the deploy rebuilds
// the views downstream of what it changes, so production views read the
// new versions, and each kept previous view reads the kept previous tables,
// which is what a rollback brings back together. In DuckDB a kept view
// reads whatever holds its tables' names: the new versions until a rollback,
// the restored ones after it. Either way a rollback restores every view's
// previous definition reading the restored tables. The __dataops_prev
// relations are for restoring, not for querying.
//
// The next deploy first drops the previous versions the deploy before it
// kept (only those its record lists), then keeps its own. A rollback
// restores, relation by relation in the reverse order of the swaps (so a
// view is restored before the table it reads), each in one transaction
// with its record row: a failure leaves each relation either restored or
// as deployed, and the result says which.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// prevSuffix names the sibling a deploy keeps a replaced version under.
const prevSuffix = "__dataops_prev"

// MetaSchema holds dataops' own bookkeeping tables in the warehouse.
const MetaSchema = "dataops_meta"

const (
	deploysTable   = "deploys"
	relationsTable = "deploy_relations"
)

// DeployState is where a deploy is in its life.
type DeployState string

const (
	DeployRunning     DeployState = "running"      // building; also a deploy interrupted by a crash
	DeployDeployed    DeployState = "deployed"     // finished; its previous versions are kept
	DeploySuperseded  DeployState = "superseded"   // a later deploy dropped its previous versions
	DeployRollingBack DeployState = "rolling_back" // a rollback started and has not restored everything yet
	DeployRolledBack  DeployState = "rolled_back"  // every relation it changed is back as before
)

// RelationState is what happened to one relation of a deploy.
type RelationState string

const (
	RelationDeployed RelationState = "deployed" // the new version is in place (and the previous kept, if any)
	RelationReleased RelationState = "released" // the next deploy dropped the previous version
	RelationRestored RelationState = "restored" // a rollback put the previous version back
	RelationRemoved  RelationState = "removed"  // a rollback dropped the relation the deploy had created
)

// Swapped is one relation a deploy replaced or created.
type Swapped struct {
	Relation warehouse.Relation
	Kind     string // "table" or "view": what the deploy built
	// Previous names the replaced version, kept in Relation.Schema; empty
	// when the deploy created Relation.
	Previous     string
	PreviousKind string
	State        RelationState
	seq          int
}

// Created reports whether the deploy created the relation (nothing to
// restore: a rollback drops it).
func (s Swapped) Created() bool { return s.Previous == "" }

// DeployInfo says what is deployed where.
type DeployInfo struct {
	// Target is the production schema; deploys to one target form one
	// history, whatever schemas their models are in.
	Target  string
	Repo    string
	PR      int
	HeadSHA string
	BaseSHA string
}

// Deploy is the record of one production deploy. Pass it as
// Options.KeepPrevious to the build that deploys.
type Deploy struct {
	ID int64
	DeployInfo
	State      DeployState
	StartedAt  time.Time
	FinishedAt time.Time // zero until it finishes
	// Resumed is set by StartDeploy when it continues the record of the same
	// change (same repository, pull request and head) instead of starting a
	// new one: after an interruption, or when the same deploy is asked for
	// twice. Relations it already swapped are rebuilt without keeping what
	// they replace (their own earlier result), so the kept versions stay the
	// ones from before the change and a rollback still goes back there.
	Resumed bool
	// Relations in the order they were swapped in.
	Relations []Swapped
	// Released lists the previous versions of the deploy before this one
	// that StartDeploy dropped.
	Released []warehouse.Relation

	w     warehouse.Warehouse
	mu    sync.Mutex
	seq   int
	byRel map[warehouse.Relation]Swapped
}

// ErrRollbackUnfinished: a rollback stopped half way; finish it before
// deploying again, so production does not mix the two.
var ErrRollbackUnfinished = errors.New("the last rollback did not finish")

func metaRel(name string) warehouse.Relation {
	return warehouse.Relation{Schema: MetaSchema, Name: name}
}

// ensureDeployLog creates the record's schema and tables if missing. No
// primary keys, as in DuckDB's dataops_meta.environments: DuckDB checks
// unique constraints eagerly, which rejects some updates within one
// transaction. StartDeploy makes ids unique, and the bot's per-repository
// deploy lock keeps two deploys from writing at once.
func ensureDeployLog(ctx context.Context, w warehouse.Warehouse) error {
	if err := w.EnsureSchema(ctx, MetaSchema); err != nil {
		return fmt.Errorf("create schema %s for the deploy record: %w", w.Dialect().QuoteIdent(MetaSchema), err)
	}
	d := w.Dialect()
	text, bigint, integer, ts := d.Type(warehouse.TypeText), d.Type(warehouse.TypeBigint), d.Type(warehouse.TypeInteger), d.Type(warehouse.TypeTimestamp)
	for _, stmt := range []string{
		fmt.Sprintf("create table if not exists %s (id %s not null, target_schema %s not null, repo %s not null, pr %s not null, head_sha %s not null, base_sha %s not null, state %s not null, started_at %s not null, finished_at %s)",
			d.QuoteRelation(metaRel(deploysTable)), bigint, text, text, integer, text, text, text, ts, ts),
		fmt.Sprintf("create table if not exists %s (deploy_id %s not null, seq %s not null, rel_schema %s not null, rel_name %s not null, kind %s not null, previous_name %s not null, previous_kind %s not null, state %s not null)",
			d.QuoteRelation(metaRel(relationsTable)), bigint, integer, text, text, text, text, text, text),
	} {
		if err := w.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("create the deploy record: %w", err)
		}
	}
	return nil
}

// LastDeploy returns the latest deploy recorded for target, or nil.
func LastDeploy(ctx context.Context, w warehouse.Warehouse, target string) (*Deploy, error) {
	if err := ensureDeployLog(ctx, w); err != nil {
		return nil, err
	}
	return lastDeploy(ctx, w, target)
}

func lastDeploy(ctx context.Context, w warehouse.Warehouse, target string) (*Deploy, error) {
	d := w.Dialect()
	rows, err := w.Query(ctx, fmt.Sprintf("select id, repo, pr, head_sha, base_sha, state, started_at, finished_at from %s where target_schema = %s order by id desc limit 1",
		d.QuoteRelation(metaRel(deploysTable)), d.Placeholder(1)), target)
	if err != nil {
		return nil, fmt.Errorf("read the deploy record: %w", err)
	}
	if len(rows.Values) == 0 {
		return nil, nil
	}
	r := rows.Values[0]
	dep := &Deploy{ID: toInt64(r[0]), State: DeployState(str(r[5])), w: w,
		DeployInfo: DeployInfo{Target: target, Repo: str(r[1]), PR: int(toInt64(r[2])), HeadSHA: str(r[3]), BaseSHA: str(r[4])}}
	dep.StartedAt, _ = r[6].(time.Time)
	dep.FinishedAt, _ = r[7].(time.Time)
	return dep, dep.load(ctx)
}

// load reads the deploy's relations from the record.
func (dep *Deploy) load(ctx context.Context) error {
	d := dep.w.Dialect()
	rows, err := dep.w.Query(ctx, fmt.Sprintf("select seq, rel_schema, rel_name, kind, previous_name, previous_kind, state from %s where deploy_id = %s order by seq",
		d.QuoteRelation(metaRel(relationsTable)), d.Placeholder(1)), dep.ID)
	if err != nil {
		return fmt.Errorf("read the relations of deploy %d: %w", dep.ID, err)
	}
	dep.Relations = nil
	dep.byRel = map[warehouse.Relation]Swapped{}
	dep.seq = 0
	for _, r := range rows.Values {
		s := Swapped{seq: int(toInt64(r[0])), Relation: warehouse.Relation{Schema: str(r[1]), Name: str(r[2])},
			Kind: str(r[3]), Previous: str(r[4]), PreviousKind: str(r[5]), State: RelationState(str(r[6]))}
		dep.Relations = append(dep.Relations, s)
		dep.byRel[s.Relation] = s
		dep.seq = max(dep.seq, s.seq)
	}
	return nil
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}

// StartDeploy opens the record of a deploy of info. When the latest deploy
// of the target is the same change and was not rolled back, it continues
// that record (Resumed). Otherwise it first drops the previous versions the
// latest deploy kept, then records a new deploy. It refuses while a
// rollback is unfinished (ErrRollbackUnfinished).
func StartDeploy(ctx context.Context, w warehouse.Warehouse, info DeployInfo) (*Deploy, error) {
	if err := ensureDeployLog(ctx, w); err != nil {
		return nil, err
	}
	last, err := lastDeploy(ctx, w, info.Target)
	if err != nil {
		return nil, err
	}
	d := w.Dialect()
	if last != nil {
		switch last.State {
		case DeployRollingBack:
			return nil, fmt.Errorf("%w (deploy of %s from PR #%d): run the rollback again to finish it, then deploy", ErrRollbackUnfinished, shortSHA(last.HeadSHA), last.PR)
		case DeployRunning, DeployDeployed:
			if last.Repo == info.Repo && last.PR == info.PR && last.HeadSHA == info.HeadSHA {
				err := w.Exec(ctx, fmt.Sprintf("update %s set state = %s, finished_at = null where id = %s",
					d.QuoteRelation(metaRel(deploysTable)), d.Placeholder(1), d.Placeholder(2)), string(DeployRunning), last.ID)
				if err != nil {
					return nil, fmt.Errorf("reopen deploy %d: %w", last.ID, err)
				}
				last.State, last.Resumed, last.FinishedAt = DeployRunning, true, time.Time{}
				return last, nil
			}
		}
	}
	var released []warehouse.Relation
	if last != nil && (last.State == DeployRunning || last.State == DeployDeployed) {
		if released, err = last.release(ctx); err != nil {
			return nil, err
		}
	}
	rows, err := w.Query(ctx, "select max(id) from "+d.QuoteRelation(metaRel(deploysTable)))
	if err != nil {
		return nil, fmt.Errorf("read the deploy record: %w", err)
	}
	// Ids order deploys: the start time in nanoseconds, or one more than
	// the newest if the clock went back.
	now := time.Now().UTC()
	id := now.UnixNano()
	if len(rows.Values) > 0 && rows.Values[0][0] != nil {
		id = max(id, toInt64(rows.Values[0][0])+1)
	}
	dep := &Deploy{ID: id, DeployInfo: info, State: DeployRunning, StartedAt: now, Released: released,
		w: w, byRel: map[warehouse.Relation]Swapped{}}
	err = w.InTransaction(ctx, func(tx warehouse.Execer) error {
		if last != nil && last.State != DeploySuperseded && last.State != DeployRolledBack {
			if err := setDeployState(ctx, tx, last.ID, DeploySuperseded); err != nil {
				return err
			}
		}
		return tx.Exec(ctx, fmt.Sprintf("insert into %s (id, target_schema, repo, pr, head_sha, base_sha, state, started_at) values (%s)",
			d.QuoteRelation(metaRel(deploysTable)), placeholders(d, 8)),
			id, info.Target, info.Repo, info.PR, info.HeadSHA, info.BaseSHA, string(DeployRunning), now)
	})
	if err != nil {
		return nil, fmt.Errorf("record the deploy: %w", err)
	}
	return dep, nil
}

func placeholders(d warehouse.Dialect, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = d.Placeholder(i + 1)
	}
	return strings.Join(ps, ", ")
}

func setDeployState(ctx context.Context, ex warehouse.Execer, id int64, s DeployState) error {
	d := ex.Dialect()
	err := ex.Exec(ctx, fmt.Sprintf("update %s set state = %s where id = %s", d.QuoteRelation(metaRel(deploysTable)), d.Placeholder(1), d.Placeholder(2)), string(s), id)
	if err != nil {
		return fmt.Errorf("mark deploy %d %s: %w", id, s, err)
	}
	return nil
}

func setRelationState(ctx context.Context, ex warehouse.Execer, id int64, rel warehouse.Relation, s RelationState) error {
	d := ex.Dialect()
	err := ex.Exec(ctx, fmt.Sprintf("update %s set state = %s where deploy_id = %s and rel_schema = %s and rel_name = %s",
		d.QuoteRelation(metaRel(relationsTable)), d.Placeholder(1), d.Placeholder(2), d.Placeholder(3), d.Placeholder(4)),
		string(s), id, rel.Schema, rel.Name)
	if err != nil {
		return fmt.Errorf("record %s as %s: %w", d.QuoteRelation(rel), s, err)
	}
	return nil
}

// release drops the previous versions this deploy kept, newest swap first
// (a kept view before the kept table it reads), each with its record row
// in one transaction. Only relations the record lists are dropped. CASCADE
// as in every swap: in PostgreSQL a view that still reads a kept version
// (one not rebuilt by the deploy) goes with it, as it went with the
// replaced version before deploys kept anything.
func (dep *Deploy) release(ctx context.Context) ([]warehouse.Relation, error) {
	var out []warehouse.Relation
	for i := len(dep.Relations) - 1; i >= 0; i-- {
		s := dep.Relations[i]
		if s.State != RelationDeployed || s.Created() {
			continue
		}
		prev := warehouse.Relation{Schema: s.Relation.Schema, Name: s.Previous}
		err := dep.w.InTransaction(ctx, func(tx warehouse.Execer) error {
			kinds, err := relationKinds(ctx, tx, prev.Schema, prev.Name)
			if err != nil {
				return err
			}
			if k := kinds[prev.Name]; k != "" {
				if err := tx.Exec(ctx, fmt.Sprintf("drop %s %s cascade", k, tx.Dialect().QuoteRelation(prev))); err != nil {
					return err
				}
			}
			return setRelationState(ctx, tx, dep.ID, s.Relation, RelationReleased)
		})
		if err != nil {
			return out, fmt.Errorf("drop the previous version %s kept by the deploy of %s: %w",
				dep.w.Dialect().QuoteRelation(prev), shortSHA(dep.HeadSHA), err)
		}
		dep.Relations[i].State = RelationReleased
		out = append(out, prev)
	}
	return out, nil
}

// Finish marks the deploy deployed and reads back what it swapped.
func (dep *Deploy) Finish(ctx context.Context) error {
	d := dep.w.Dialect()
	now := time.Now().UTC()
	err := dep.w.Exec(ctx, fmt.Sprintf("update %s set state = %s, finished_at = %s where id = %s",
		d.QuoteRelation(metaRel(deploysTable)), d.Placeholder(1), d.Placeholder(2), d.Placeholder(3)), string(DeployDeployed), now, dep.ID)
	if err != nil {
		return fmt.Errorf("mark deploy %d finished: %w", dep.ID, err)
	}
	dep.State, dep.FinishedAt = DeployDeployed, now
	return dep.load(ctx)
}

// swapped returns what the record already says about rel, from an earlier
// attempt of this deploy.
func (dep *Deploy) swapped(rel warehouse.Relation) (Swapped, bool) {
	dep.mu.Lock()
	defer dep.mu.Unlock()
	s, ok := dep.byRel[rel]
	return s, ok
}

// record writes s's row in the caller's transaction: the one that swaps.
func (dep *Deploy) record(ctx context.Context, tx warehouse.Execer, s Swapped) error {
	dep.mu.Lock()
	dep.seq++
	s.seq = dep.seq
	dep.mu.Unlock()
	d := tx.Dialect()
	err := tx.Exec(ctx, fmt.Sprintf("insert into %s (deploy_id, seq, rel_schema, rel_name, kind, previous_name, previous_kind, state) values (%s)",
		d.QuoteRelation(metaRel(relationsTable)), placeholders(d, 8)),
		dep.ID, s.seq, s.Relation.Schema, s.Relation.Name, s.Kind, s.Previous, s.PreviousKind, string(RelationDeployed))
	if err != nil {
		return fmt.Errorf("record the swap of %s: %w", d.QuoteRelation(s.Relation), err)
	}
	return nil
}

// keepSwap puts tmp, just built as kind, in rel's place in the caller's
// transaction, keeping the version it replaces as rel's __dataops_prev
// sibling and recording the swap in the deploy.
func (b *builder) keepSwap(ctx context.Context, tx warehouse.Execer, rel, tmp warehouse.Relation, kind string) error {
	dep := b.opts.KeepPrevious
	prev := b.sibling(rel, prevSuffix)
	if earlier, ok := dep.swapped(rel); ok {
		// This deploy swapped rel before it was interrupted (or is asked for
		// again): what rel holds is its own earlier result, and the version
		// from before the deploy is already kept. Replace without keeping.
		if !earlier.Created() {
			kinds, err := relationKinds(ctx, tx, rel.Schema, earlier.Previous)
			if err != nil {
				return err
			}
			if kinds[earlier.Previous] == "" {
				return fmt.Errorf("the version of %s from before this deploy, kept as %s, is gone; rebuilding would leave nothing to roll back to: roll back (which reports what it cannot restore), then deploy again",
					b.d.QuoteRelation(rel), b.d.QuoteIdent(earlier.Previous))
			}
		}
		return b.swapDropping(ctx, tx, rel, tmp, kind)
	}
	kinds, err := relationKinds(ctx, tx, rel.Schema, rel.Name, prev.Name)
	if err != nil {
		return err
	}
	if k := kinds[prev.Name]; k != "" {
		// Not recorded, so not known to be dataops' own: the previous deploy's
		// kept versions were dropped before this one started.
		return fmt.Errorf("%s %s exists but no deploy recorded keeping it there, so dataops will not drop or overwrite it: rename or drop it, then deploy again",
			k, b.d.QuoteRelation(prev))
	}
	s := Swapped{Relation: rel, Kind: kind}
	if old := kinds[rel.Name]; old != "" {
		if err := tx.Exec(ctx, fmt.Sprintf("alter %s %s rename to %s", old, b.d.QuoteRelation(rel), b.d.QuoteIdent(prev.Name))); err != nil {
			return err
		}
		s.Previous, s.PreviousKind = prev.Name, old
	}
	if err := tx.Exec(ctx, fmt.Sprintf("alter %s %s rename to %s", kind, b.d.QuoteRelation(tmp), b.d.QuoteIdent(rel.Name))); err != nil {
		return err
	}
	return dep.record(ctx, tx, s)
}

// swapDropping puts tmp in rel's place and drops what rel held, as a build
// without a deploy does.
func (b *builder) swapDropping(ctx context.Context, tx warehouse.Execer, rel, tmp warehouse.Relation, kind string) error {
	backup := b.sibling(rel, backupSuffix)
	kinds, err := relationKinds(ctx, tx, rel.Schema, rel.Name, backup.Name)
	if err != nil {
		return err
	}
	if k := kinds[backup.Name]; k != "" {
		if err := tx.Exec(ctx, fmt.Sprintf("drop %s %s cascade", k, b.d.QuoteRelation(backup))); err != nil {
			return err
		}
	}
	old := kinds[rel.Name]
	if old != "" {
		if err := tx.Exec(ctx, fmt.Sprintf("alter %s %s rename to %s", old, b.d.QuoteRelation(rel), b.d.QuoteIdent(backup.Name))); err != nil {
			return err
		}
	}
	if err := tx.Exec(ctx, fmt.Sprintf("alter %s %s rename to %s", kind, b.d.QuoteRelation(tmp), b.d.QuoteIdent(rel.Name))); err != nil {
		return err
	}
	if old != "" {
		return tx.Exec(ctx, fmt.Sprintf("drop %s %s cascade", old, b.d.QuoteRelation(backup)))
	}
	return nil
}

// mergeCopy applies an incremental model's new rows to a copy of rel and
// swaps the copy in, so the table as it was is kept (see the top of this
// file).
func (b *builder) mergeCopy(ctx context.Context, tx warehouse.Execer, n *project.Node, rel warehouse.Relation, sql string) error {
	tmp := b.sibling(rel, tmpSuffix)
	if err := b.dropIfExists(ctx, tx, tmp); err != nil {
		return err
	}
	if err := tx.Exec(ctx, fmt.Sprintf("create table %s as select * from %s", b.d.QuoteRelation(tmp), b.d.QuoteRelation(rel))); err != nil {
		return err
	}
	if err := b.mergeInto(ctx, tx, n, rel, tmp, sql); err != nil {
		return err
	}
	return b.keepSwap(ctx, tx, rel, tmp, "table")
}

// Restored is what a rollback did to one relation.
type Restored struct {
	Relation warehouse.Relation
	// Action: "restored" (the previous version is back), "removed" (the
	// deploy had created it; dropped), or "failed" (left as deployed; Error
	// says why).
	Action string
	// Previous is the kept version's name, for restored relations.
	Previous string
	// Already: an earlier, interrupted rollback had done it.
	Already bool
	Error   string
}

// RollbackResult is what a rollback did.
type RollbackResult struct {
	// Deploy is the deploy rolled back; nil when none is recorded.
	Deploy *Deploy
	// Nothing, when set, says why there was nothing to roll back.
	Nothing string
	// Relations, in the order they were handled (the reverse of the
	// deploy's swaps).
	Relations []Restored
}

// Failed reports whether some relation could not be restored; the
// rollback can be run again to retry them.
func (r *RollbackResult) Failed() bool {
	for _, x := range r.Relations {
		if x.Action == "failed" {
			return true
		}
	}
	return false
}

// Rollback undoes the latest deploy to target: each relation it replaced
// gets its kept previous version back, each it created is dropped, newest
// swap first, each in its own transaction with its record row. When every
// relation is done the deploy is marked rolled back, so a second rollback
// finds nothing to do; when some fail, they stay as deployed, are reported,
// and running Rollback again retries only them.
func Rollback(ctx context.Context, w warehouse.Warehouse, target string) (*RollbackResult, error) {
	dep, err := LastDeploy(ctx, w, target)
	if err != nil {
		return nil, err
	}
	// From here on the result is returned even with an error, to say what
	// was done.
	res := &RollbackResult{Deploy: dep}
	switch {
	case dep == nil:
		res.Nothing = fmt.Sprintf("no deploy to production schema %s is recorded", target)
		return res, nil
	case dep.State == DeployRolledBack:
		res.Nothing = fmt.Sprintf("the last deploy (%s from PR #%d) was already rolled back", shortSHA(dep.HeadSHA), dep.PR)
		return res, nil
	case dep.State == DeploySuperseded:
		// Only when a deploy dropped these versions and then failed to
		// record itself.
		res.Nothing = fmt.Sprintf("the previous versions kept by the last deploy (%s from PR #%d) were dropped by a later deploy", shortSHA(dep.HeadSHA), dep.PR)
		return res, nil
	}
	if dep.State != DeployRollingBack {
		if err := setDeployState(ctx, w, dep.ID, DeployRollingBack); err != nil {
			return nil, err
		}
	}
	dep.State = DeployRollingBack
	for i := len(dep.Relations) - 1; i >= 0; i-- {
		s := dep.Relations[i]
		r := Restored{Relation: s.Relation, Previous: s.Previous}
		switch s.State {
		case RelationRestored:
			r.Action, r.Already = "restored", true
		case RelationRemoved:
			r.Action, r.Already = "removed", true
		case RelationReleased: // cannot happen to a deploy that was not superseded
			r.Action, r.Error = "failed", "its previous version was dropped by a later deploy"
		default:
			state, err := restore(ctx, w, dep.ID, s)
			switch {
			case err != nil:
				r.Action, r.Error = "failed", err.Error()
			case state == RelationRestored:
				r.Action = "restored"
			default:
				r.Action = "removed"
			}
			if err == nil {
				dep.Relations[i].State = state
			}
		}
		res.Relations = append(res.Relations, r)
	}
	if !res.Failed() {
		if err := setDeployState(ctx, w, dep.ID, DeployRolledBack); err != nil {
			return res, err
		}
		dep.State = DeployRolledBack
	}
	return res, nil
}

// restore undoes one swap in one transaction. The deployed version is
// dropped without CASCADE: in PostgreSQL anything still reading it (a view
// this rollback could not restore) makes the drop fail, so that relation
// stays as deployed instead of taking its dependents with it.
func restore(ctx context.Context, w warehouse.Warehouse, id int64, s Swapped) (RelationState, error) {
	state := RelationRemoved
	if !s.Created() {
		state = RelationRestored
	}
	err := w.InTransaction(ctx, func(tx warehouse.Execer) error {
		d := tx.Dialect()
		names := []string{s.Relation.Name}
		if !s.Created() {
			names = append(names, s.Previous)
		}
		kinds, err := relationKinds(ctx, tx, s.Relation.Schema, names...)
		if err != nil {
			return err
		}
		if !s.Created() && kinds[s.Previous] == "" {
			return fmt.Errorf("its previous version %s is gone", d.QuoteRelation(warehouse.Relation{Schema: s.Relation.Schema, Name: s.Previous}))
		}
		if k := kinds[s.Relation.Name]; k != "" {
			if err := tx.Exec(ctx, fmt.Sprintf("drop %s %s", k, d.QuoteRelation(s.Relation))); err != nil {
				return err
			}
		}
		if !s.Created() {
			prev := warehouse.Relation{Schema: s.Relation.Schema, Name: s.Previous}
			if err := tx.Exec(ctx, fmt.Sprintf("alter %s %s rename to %s", kinds[s.Previous], d.QuoteRelation(prev), d.QuoteIdent(s.Relation.Name))); err != nil {
				return err
			}
		}
		return setRelationState(ctx, tx, id, s.Relation, state)
	})
	return state, err
}

// KeptPrevious lists the previous versions the deploy keeps now, sorted.
func (dep *Deploy) KeptPrevious() []warehouse.Relation {
	var out []warehouse.Relation
	for _, s := range dep.Relations {
		if s.State == RelationDeployed && !s.Created() {
			out = append(out, warehouse.Relation{Schema: s.Relation.Schema, Name: s.Previous})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Schema != out[j].Schema {
			return out[i].Schema < out[j].Schema
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
