package postgres

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The test server trusts every local connection, so a wrong password cannot
// be provoked there; the server's error for it is built here instead.
func TestConnectErrorAuth(t *testing.T) {
	cfg, err := pgx.ParseConfig("postgres://alice:s3cret@db.example:5432/shop")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		err   error
		wants []string
	}{
		{"wrong password",
			&pgconn.PgError{Code: "28P01", Message: `password authentication failed for user "alice"`},
			[]string{"connect postgres://alice:***@db.example:5432/shop: wrong password for user alice", "check the password in the DSN"}},
		{"no pg_hba entry",
			&pgconn.PgError{Code: "28000", Message: `no pg_hba.conf entry for host "10.0.0.1"`},
			[]string{"no pg_hba.conf entry", "pg_hba.conf lets it connect"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := connectError("postgres://alice:s3cret@db.example:5432/shop", cfg, tt.err).Error()
			for _, want := range tt.wants {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not contain %q", msg, want)
				}
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("message leaks the password: %q", msg)
			}
		})
	}
}
