package postgres

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func wrapError(err error, query string) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	return &warehouse.SQLError{
		Engine:   "postgres",
		Code:     pe.Code,
		Message:  pe.Message,
		Detail:   pe.Detail,
		Hint:     pe.Hint,
		Position: int(pe.Position),
		Query:    query,
		Err:      err,
	}
}

// isStatementTimeout tells the server's "canceling statement due to
// statement timeout" (query_canceled, which a cancel request shares).
func isStatementTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "57014" && strings.Contains(pe.Message, "statement timeout")
}

// connectError explains a failed connection: the cause in a few words and
// the next thing to check. pgx's own messages never contain the password.
func connectError(dsn string, cfg *pgx.ConnConfig, err error) error {
	e := &warehouse.ConnectError{DSN: warehouse.MaskDSN(dsn), Err: err}
	var pe *pgconn.PgError
	var dnsErr *net.DNSError
	var netErr net.Error
	msg := err.Error()
	switch {
	case errors.As(err, &pe):
		e.Cause = pe.Message
		switch pe.Code {
		case "28P01": // invalid_password
			e.Cause = "wrong password for user " + cfg.User + " (" + pe.Message + ")"
			e.Hint = "check the password in the DSN, PGPASSWORD or ~/.pgpass"
		case "28000": // invalid_authorization_specification: unknown role, pg_hba.conf
			e.Hint = "check the user name in the DSN and that pg_hba.conf lets it connect from here"
		case "3D000": // invalid_catalog_name
			e.Hint = "create the database or fix its name in the DSN"
		case "53300": // too_many_connections
			e.Hint = "the server is out of connections: retry later or raise max_connections"
		case "57P03": // cannot_connect_now
			e.Hint = "the server is starting up or shutting down: retry in a moment"
		default:
			e.Hint = "see the server log for details"
		}
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(msg, "connection refused"):
		e.Cause = "connection refused"
		e.Hint = "is the server running and reachable? check the host and port"
	case errors.As(err, &dnsErr):
		e.Cause = "host " + dnsErr.Name + " not found"
		e.Hint = "check the host name in the DSN"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() || strings.Contains(msg, "timeout"):
		e.Cause = "timed out"
		e.Hint = "is the server up? check the host, the port and any firewall in between"
	case strings.Contains(msg, "server refused TLS connection"):
		e.Cause = "the server does not accept TLS"
		e.Hint = "add sslmode=disable to the DSN, or enable TLS on the server"
	case strings.Contains(msg, "tls:") || strings.Contains(msg, "x509:"):
		e.Cause = "TLS handshake failed (" + msg + ")"
		e.Hint = "check sslmode, sslrootcert and the server certificate"
	default:
		e.Cause = msg
		e.Hint = "check the DSN"
	}
	return e
}
