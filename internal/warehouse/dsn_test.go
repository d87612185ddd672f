package warehouse

import (
	"strings"
	"testing"
)

func TestMaskDSN(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"no password", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"},
		{"password", "postgres://postgres:s3cret@127.0.0.1:5432/test", "postgres://postgres:***@127.0.0.1:5432/test"},
		{"empty password", "postgres://postgres:@host/db", "postgres://postgres:***@host/db"},
		{"escaped password", "postgres://u:p%40ss%2Fw@host/db", "postgres://u:***@host/db"},
		{"raw @ and / in password", "postgres://u:p@ss/w@host:5432/db?sslmode=require", "postgres://u:***@host:5432/db?sslmode=require"},
		{"password parameter", "postgres://u@host/db?password=s3cret&sslmode=disable", "postgres://u@host/db?password=***&sslmode=disable"},
		{"token parameter", "duckdb:///data/x.duckdb?motherduck_token=abc", "duckdb:///data/x.duckdb?motherduck_token=***"},
		{"fragment kept", "postgres://u:pw@h/db?sslpassword=x#frag", "postgres://u:***@h/db?sslpassword=***#frag"},
		{"duckdb file", "duckdb:///tmp/a.duckdb", "duckdb:///tmp/a.duckdb"},
		{"duckdb memory", "duckdb://", "duckdb://"},
		{"key value", "host=h user=u password=s3cret dbname=d", "host=h user=u password=*** dbname=d"},
		{"key value quoted", "host=h password='s3 cret' dbname=d", "host=h password=*** dbname=d"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MaskDSN(tt.dsn)
			if got != tt.want {
				t.Errorf("MaskDSN(%q) = %q, want %q", tt.dsn, got, tt.want)
			}
			for _, secret := range []string{"s3cret", "p@ss", "abc", "s3 cret"} {
				if strings.Contains(tt.dsn, secret) && strings.Contains(got, secret) {
					t.Errorf("MaskDSN(%q) = %q leaks %q", tt.dsn, got, secret)
				}
			}
		})
	}
}
