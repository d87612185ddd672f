package sqlbase

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// MarkerStore keeps environment marker texts (warehouse.EncodeMarker) next to
// schemas. All calls run inside the environment's transaction.
type MarkerStore interface {
	// Lock serializes create/drop of one schema name across processes where
	// the engine can (PostgreSQL advisory locks); it may be a no-op.
	Lock(ctx context.Context, tx *sql.Tx, schema string) error
	// Read reports whether the schema exists and its marker text ("" when
	// it has none).
	Read(ctx context.Context, tx *sql.Tx, schema string) (text string, exists bool, err error)
	// Write sets the marker text of an existing schema.
	Write(ctx context.Context, tx *sql.Tx, schema, text string) error
	// Forget removes what Write stored outside the schema, after the schema
	// is dropped or found missing.
	Forget(ctx context.Context, tx *sql.Tx, schema string) error
	// List returns marker texts by schema name for the schemas that exist.
	List(ctx context.Context, q Querier) (map[string]string, error)
}

// CreateEnvironment: see warehouse.Warehouse.
func (b *Base) CreateEnvironment(ctx context.Context, schema string, m warehouse.EnvironmentMarker) error {
	qs := b.D.QuoteIdent(schema)
	if err := warehouse.ValidateIdentifier(b.D, "environment schema", schema); err != nil {
		return fmt.Errorf("create environment: %w", err)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now()
	}
	m.CreatedAt = m.CreatedAt.UTC().Truncate(time.Second)
	err := b.inTx(ctx, func(tx *sql.Tx) error {
		if err := b.Markers.Lock(ctx, tx, schema); err != nil {
			return err
		}
		text, exists, err := b.Markers.Read(ctx, tx, schema)
		if err != nil {
			return err
		}
		if !exists {
			if err := b.Markers.Forget(ctx, tx, schema); err != nil { // stale registry entry
				return err
			}
			if err := b.exec(ctx, tx, "CREATE SCHEMA "+qs); err != nil {
				return err
			}
			return b.Markers.Write(ctx, tx, schema, warehouse.EncodeMarker(m))
		}
		old, ok := warehouse.DecodeMarker(text)
		if !ok {
			return fmt.Errorf("%w: refusing to adopt it; pick another environment name, or drop the schema by hand if it is really unused", warehouse.ErrUnmarkedSchema)
		}
		if old.PR != m.PR {
			return fmt.Errorf("%w: it belongs to PR #%d, not #%d; make the environment template include {number}", warehouse.ErrEnvironmentConflict, old.PR, m.PR)
		}
		// Same PR again (a new push): keep the age, record the new head.
		m.CreatedAt = old.CreatedAt
		if m == old {
			return nil
		}
		return b.Markers.Write(ctx, tx, schema, warehouse.EncodeMarker(m))
	})
	if err != nil {
		return fmt.Errorf("create environment %s: %w", qs, err)
	}
	return nil
}

// DropEnvironment: see warehouse.Warehouse.
func (b *Base) DropEnvironment(ctx context.Context, schema string) error {
	qs := b.D.QuoteIdent(schema)
	if err := warehouse.ValidateIdentifier(b.D, "environment schema", schema); err != nil {
		return fmt.Errorf("drop environment: %w", err)
	}
	err := b.inTx(ctx, func(tx *sql.Tx) error {
		if err := b.Markers.Lock(ctx, tx, schema); err != nil {
			return err
		}
		text, exists, err := b.Markers.Read(ctx, tx, schema)
		if err != nil {
			return err
		}
		if !exists {
			return b.Markers.Forget(ctx, tx, schema)
		}
		if _, ok := warehouse.DecodeMarker(text); !ok {
			return fmt.Errorf("%w: refusing to drop it", warehouse.ErrUnmarkedSchema)
		}
		// CASCADE only now that the marker says the schema is ours.
		if err := b.exec(ctx, tx, "DROP SCHEMA "+qs+" CASCADE"); err != nil {
			return err
		}
		return b.Markers.Forget(ctx, tx, schema)
	})
	if err != nil {
		return fmt.Errorf("drop environment %s: %w", qs, err)
	}
	return nil
}

// ListEnvironments: see warehouse.Warehouse.
func (b *Base) ListEnvironments(ctx context.Context) ([]warehouse.Environment, error) {
	texts, err := b.Markers.List(ctx, b.DB)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	var envs []warehouse.Environment
	for schema, text := range texts {
		if m, ok := warehouse.DecodeMarker(text); ok {
			envs = append(envs, warehouse.Environment{Schema: schema, Marker: m})
		}
	}
	slices.SortFunc(envs, func(a, b warehouse.Environment) int { return strings.Compare(a.Schema, b.Schema) })
	return envs, nil
}
