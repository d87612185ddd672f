// Package store keeps the state of the webhook bot (`dataops serve`): the
// deliveries it has seen, the job queue, the newest head sha of each pull
// request, and leases that serialise work per pull request and deploys per
// repository.
//
// One SQLite file is the default: embedded, nothing to run, and durable (WAL
// with synchronous=FULL, so a delivery Accept returned for survives a crash).
// PostgreSQL is used when the bot is given a postgres:// URL, so that several
// replicas share one queue.
//
// The queue itself is maragu.dev/goqite (its table and its queries, for both
// engines; v0.4.0 is its first release with PostgreSQL) rather than a
// hand-written one; this package adds what the bot
// needs around it, each in the same transaction as the queue operation it
// belongs to: dedupe of deliveries, bounded retries with backoff, a dead
// letter table, ownership checks so that a worker whose visibility timeout
// expired cannot complete or retry a job another worker now holds, leases,
// and stats.
//
// The API is deliberately plain (a struct with methods, no interfaces): the
// bot has exactly one store, and its tests use a real one in a temporary
// directory, which is fast enough that a fake would only add code to keep in
// step.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
	"maragu.dev/goqite"
)

// DefaultPath is the SQLite file Open uses for an empty URL.
const DefaultPath = "dataops.db"

// queueName is this package's queue in goqite's table, which goqite lets
// several queues (and so other applications) share.
const queueName = "dataops"

// Options tune the queue. Zero values take the defaults documented on each
// field.
type Options struct {
	// VisibilityTimeout is how long a received job stays invisible to other
	// workers. A worker that needs longer calls Extend while it works; a
	// worker that crashed stops extending, and the job is received again
	// after at most this long. Default 1 minute.
	VisibilityTimeout time.Duration
	// MaxAttempts bounds how often a job runs, counting failures (Retry) and
	// interruptions (a crash, or a visibility timeout that expired). A job
	// that used them all is dead-lettered. Default 5.
	MaxAttempts int
	// RetryBackoff is the delay after the first failure; it doubles with
	// each further one, up to MaxRetryBackoff, with up to 20% jitter so that
	// jobs failing together do not all come back together. Default 10s.
	RetryBackoff time.Duration
	// MaxRetryBackoff caps the delay between attempts. Default 10 minutes.
	MaxRetryBackoff time.Duration
	// MaxCrashes is how many attempts of a job may die with their worker
	// (the process killed, or a fatal error that no recover catches) before
	// it is dead-lettered, however many attempts it has left: a job that
	// kills its worker would otherwise kill every worker that takes it.
	// Default 2.
	MaxCrashes int
}

func (o Options) withDefaults() Options {
	if o.VisibilityTimeout <= 0 {
		o.VisibilityTimeout = time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 10 * time.Second
	}
	if o.MaxRetryBackoff <= 0 {
		o.MaxRetryBackoff = 10 * time.Minute
	}
	if o.MaxCrashes <= 0 {
		o.MaxCrashes = 2
	}
	if o.MaxRetryBackoff < o.RetryBackoff {
		o.MaxRetryBackoff = o.RetryBackoff
	}
	return o
}

type engine int

const (
	engineSQLite engine = iota
	enginePostgres
)

func (e engine) String() string {
	if e == enginePostgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

// Store is the bot's state in one database. It is safe for concurrent use,
// and several Stores (in one process or in several) may share a database.
type Store struct {
	db     *sql.DB
	engine engine
	where  string // the file or the masked URL, for error messages
	opts   Options
	queue  *goqite.Queue

	// SQLite allows one writer at a time, and each durable commit costs a
	// disk flush. Accepts are therefore committed in groups by one goroutine
	// (see intake.go); PostgreSQL commits them independently.
	accepts   chan *acceptRequest
	stmts     acceptStatements
	quit      chan struct{}
	committer sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating when needed) the store at url with default Options:
//
//   - "" is the SQLite file ./dataops.db;
//   - "sqlite:///abs/path/file.db", "sqlite://rel/file.db" or a plain path is
//     a SQLite file;
//   - "postgres://..." or "postgresql://..." is a PostgreSQL database.
//
// It creates the tables it needs (goqite's and its own) idempotently; several
// processes opening the same database at once is safe.
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenWith(ctx, url, Options{})
}

// OpenWith is Open with Options.
func OpenWith(ctx context.Context, url string, opts Options) (*Store, error) {
	eng, target, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	s := &Store{engine: eng, opts: opts.withDefaults(), quit: make(chan struct{})}
	switch eng {
	case engineSQLite:
		s.where = target
		s.db, err = openSQLite(ctx, target)
	case enginePostgres:
		s.where = warehouse.MaskDSN(target)
		s.db, err = openPostgres(ctx, target)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("create the store's tables in %s: %w", s.where, err)
	}
	flavor := goqite.SQLFlavorSQLite
	if eng == enginePostgres {
		flavor = goqite.SQLFlavorPostgreSQL
	}
	s.queue = goqite.New(goqite.NewOpts{
		DB:   s.db,
		Name: queueName,
		// One more than MaxAttempts, so that goqite hands out the receive
		// that exceeds the budget and Receive can dead-letter the job with
		// a reason, instead of goqite leaving it in its table forever.
		MaxReceive: s.opts.MaxAttempts + 1,
		Timeout:    s.opts.VisibilityTimeout,
		SQLFlavor:  flavor,
	})
	if eng == engineSQLite {
		if err := s.prepareAcceptStatements(ctx); err != nil {
			s.db.Close()
			return nil, fmt.Errorf("open SQLite store %s: %w", s.where, err)
		}
		s.accepts = make(chan *acceptRequest)
		s.committer.Add(1)
		go s.commitAccepts()
	}
	return s, nil
}

// Close stops accepting work, waits for a group of Accepts being committed,
// and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		s.committer.Wait()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// ErrClosed is returned by calls on a closed Store.
var ErrClosed = errors.New("store is closed")

// parseURL tells the engine and returns the file path or PostgreSQL URL.
func parseURL(url string) (engine, string, error) {
	switch {
	case url == "":
		return engineSQLite, DefaultPath, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return enginePostgres, url, nil
	case strings.HasPrefix(url, "sqlite://"), strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "sqlite:")
		if path == "" {
			return 0, "", fmt.Errorf("store URL %q names no file: use sqlite:///path/to/dataops.db", url)
		}
		if strings.ContainsAny(path, "?#") {
			return 0, "", fmt.Errorf("store URL %q: options are not supported (dataops sets WAL, a busy timeout and foreign keys itself); give only the file path", url)
		}
		return engineSQLite, filepath.FromSlash(path), nil
	case strings.Contains(url, "://"):
		scheme, _, _ := strings.Cut(url, "://")
		return 0, "", fmt.Errorf("store URL %q: unsupported scheme %q (use a SQLite file path, sqlite:///path/to/dataops.db, or postgres://user:password@host:5432/db)", warehouse.MaskDSN(url), scheme)
	default:
		if strings.ContainsAny(url, "?#") {
			return 0, "", fmt.Errorf("store path %q: a SQLite file path may not contain '?' or '#'", url)
		}
		return engineSQLite, url, nil
	}
}

// sqliteBusyTimeout is how long a write waits for another process's write
// to finish (a second Store on the same file) before failing.
const sqliteBusyTimeout = 10 * time.Second

func openSQLite(ctx context.Context, path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("open SQLite store %s: folder %s: %w (create it first)", path, dir, err)
		}
	}
	// WAL lets readers and the writer proceed together; synchronous=FULL
	// flushes the WAL at every commit, which is what makes "stored before
	// the HTTP answer" hold across a power loss, not only a process crash;
	// _txlock=immediate takes the write lock when a transaction begins, so
	// that two processes never both read then fail to upgrade to a write
	// (SQLITE_BUSY without waiting); the busy timeout makes the other
	// process wait instead.
	dsn := path + "?" + strings.Join([]string{
		"_journal_mode=WAL",
		"_synchronous=FULL",
		"_busy_timeout=" + strconv.Itoa(int(sqliteBusyTimeout/time.Millisecond)),
		"_foreign_keys=on",
		"_txlock=immediate",
	}, "&")
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open SQLite store %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and queueing in
	// database/sql is fair and prompt, where SQLite's busy handler sleeps
	// in steps of up to 100ms. Accepts are batched onto it (intake.go).
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	var mode string
	if err := db.QueryRowContext(ctx, "pragma journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("open SQLite store %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		db.Close()
		return nil, fmt.Errorf("open SQLite store %s: journal mode is %q, not WAL (is the file on a network file system? keep it on a local disk)", path, mode)
	}
	return db, nil
}

// postgresConnectTimeout bounds each connection attempt when the URL does
// not set connect_timeout.
const postgresConnectTimeout = 10 * time.Second

func openPostgres(ctx context.Context, url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL store %s: %w (use postgres://user:password@host:5432/db?sslmode=disable)", warehouse.MaskDSN(url), err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = postgresConnectTimeout
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, &ConnectError{Where: warehouse.MaskDSN(url), Err: err}
	}
	return db, nil
}

// ConnectError reports a PostgreSQL server that could not be reached or
// refused the credentials.
type ConnectError struct {
	Where string // the URL, password masked
	Err   error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("connect to PostgreSQL store %s: %v", e.Where, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// rebind turns the ? placeholders this package writes into PostgreSQL's $n.
// No query here has a ? inside a literal.
func (s *Store) rebind(query string) string {
	if s.engine != enginePostgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// txOptions pins PostgreSQL to read committed, whatever the server's
// default_transaction_isolation: every statement here is written for it (see
// Receive for the one place that needs more). SQLite transactions are
// serialisable anyway; the driver ignores the options.
func (s *Store) txOptions() *sql.TxOptions {
	if s.engine == enginePostgres {
		return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return nil
}

// inTx runs fn in a transaction and commits it, or rolls it back when fn
// fails.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, s.txOptions())
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return fmt.Errorf("%w (and rolling back: %v)", err, rbErr)
		}
		return err
	}
	return tx.Commit()
}

// goqiteTime formats t as goqite stores it in SQLite (text, UTC, fixed
// millisecond precision, so that text order is time order); PostgreSQL
// stores timestamptz and takes a time.Time.
func (s *Store) goqiteTime(t time.Time) any {
	if s.engine == enginePostgres {
		return t.UTC()
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// parseGoqiteTime reads back a goqite timestamp scanned into any.
func parseGoqiteTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		return v, nil
	case string:
		return time.Parse(time.RFC3339Nano, v)
	case []byte:
		return time.Parse(time.RFC3339Nano, string(v))
	default:
		return time.Time{}, fmt.Errorf("unexpected timestamp %T %v", v, v)
	}
}
