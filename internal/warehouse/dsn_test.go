package warehouse

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestMaskDSN(t *testing.T) {
	tests := []struct {
		name, dsn, want string
		secrets         []string // none of these may survive
	}{
		{"no password", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", nil},
		{"password", "postgres://postgres:s3cret@127.0.0.1:5432/test", "postgres://postgres:***@127.0.0.1:5432/test", []string{"s3cret"}},
		{"empty password", "postgres://postgres:@host/db", "postgres://postgres:***@host/db", nil},
		{"escaped password", "postgres://u:p%40ss%2Fw@host/db", "postgres://u:***@host/db", []string{"p%40ss", "ss%2Fw"}},
		{"raw @ and / in password", "postgres://u:p@ss/w@host:5432/db?sslmode=require", "postgres://u:***@host:5432/db?sslmode=require", []string{"p@ss", "ss/w"}},
		{"# in password", "postgres://dataops:s3cr#et@db.internal:5432/analytics", "postgres://dataops:***@db.internal:5432/analytics", []string{"s3cr", "et@"}},
		{"? in password", "postgres://dataops:s3cr?et@db.internal/analytics?sslmode=disable", "postgres://dataops:***@db.internal/analytics?sslmode=disable", []string{"s3cr", "et@"}},
		{"every special in password", "postgres://u:a#b?c@d/e%f&g=h@h:5432/db?sslmode=require", "postgres://u:***@h:5432/db?sslmode=require", []string{"a#b", "c@d", "e%f", "g=h"}},
		{"colon in password", "postgres://u:pa:ss@h/db", "postgres://u:***@h/db", []string{"pa:ss"}},
		{"space in password", "postgres://u:pa ss@h/db", "postgres://u:***@h/db", []string{"pa ss"}},
		{"unix socket host", "postgres://u:pw@%2Fvar%2Frun%2Fpostgresql/db", "postgres://u:***@%2Fvar%2Frun%2Fpostgresql/db", []string{"pw@"}},
		{"ipv6 host", "postgres://u:pw@[::1]:5432/db", "postgres://u:***@[::1]:5432/db", []string{"pw@"}},
		{"several hosts", "postgres://u:pw@h1:5432,h2:5433/db?target_session_attrs=read-write", "postgres://u:***@h1:5432,h2:5433/db?target_session_attrs=read-write", []string{"pw@"}},
		{"password parameter", "postgres://u@host/db?password=s3cret&sslmode=disable", "postgres://u@host/db?password=***&sslmode=disable", []string{"s3cret"}},
		{"# in password parameter", "postgres://u@host/db?password=s3#cret&sslmode=disable", "postgres://u@host/db?password=***&sslmode=disable", []string{"s3", "cret"}},
		{"@ in a parameter", "postgres://u:pw@h/db?application_name=me@laptop", "", []string{"pw@"}},
		{"token parameter", "duckdb:///data/x.duckdb?motherduck_token=abc", "duckdb:///data/x.duckdb?motherduck_token=***", []string{"abc"}},
		{"sslpassword parameter", "postgres://u:pw@h/db?sslpassword=x1y2#frag", "postgres://u:***@h/db?sslpassword=***", []string{"x1y2"}},
		{"duckdb file", "duckdb:///tmp/a.duckdb", "duckdb:///tmp/a.duckdb", nil},
		{"duckdb file with settings", "duckdb:///tmp/a.duckdb?access_mode=READ_ONLY&threads=2", "duckdb:///tmp/a.duckdb?access_mode=READ_ONLY&threads=2", nil},
		{"duckdb memory", "duckdb://", "duckdb://", nil},
		{"duckdb motherduck", "duckdb://md:my_db?motherduck_token=eyJhbGciOi", "duckdb://md:my_db?motherduck_token=***", []string{"eyJhbGciOi"}},
		{"key value", "host=h user=u password=s3cret dbname=d", "host=h user=u password=*** dbname=d", []string{"s3cret"}},
		{"key value quoted", "host=h password='s3 cret' dbname=d", "host=h password=*** dbname=d", []string{"s3 cret", "cret"}},
		{"key value quoted, escaped quote", `host=h password='it\'s #1' dbname=d`, "host=h password=*** dbname=d", []string{"it", "#1"}},
		{"key value unquoted escaped space", `password=qz\ wx host=h`, "password=*** host=h", []string{"qz", "wx"}},
		{"key value spaces around =", "host = h password = s3cret", "host = h password = ***", []string{"s3cret"}},
		{"key value unterminated quote", "host=h password='s3 cret dbname=d", "host=h password=***", []string{"s3", "cret"}},
		{"key value with a URL-like password", "host=h password=a://b@c", "host=h password=***", []string{"a://b", "b@c"}},
		{"key value sslpassword", "host=h sslpassword=k3y", "host=h sslpassword=***", []string{"k3y"}},
		{"key value empty value", "host= password=k3y dbname=d", "host= password=*** dbname=d", []string{"k3y"}},
		{"no scheme, user and password", "dataops:s3cret@db:5432/analytics", "dataops:***@db:5432/analytics", []string{"s3cret"}},
		{"empty", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MaskDSN(tt.dsn)
			if tt.want != "" && got != tt.want {
				t.Errorf("MaskDSN(%q) = %q, want %q", tt.dsn, got, tt.want)
			}
			for _, secret := range tt.secrets {
				if strings.Contains(got, secret) {
					t.Errorf("MaskDSN(%q) = %q leaks %q", tt.dsn, got, secret)
				}
			}
		})
	}
}

var (
	fuzzHost   = regexp.MustCompile(`^[A-Za-z0-9.:\[\],%_-]*$`)
	fuzzParams = regexp.MustCompile(`^[A-Za-z0-9_=&.@-]*$`)
)

// FuzzMaskDSN: whatever the password, written in any of the ways DSNs
// carry one, the masked DSN does not hold it.
func FuzzMaskDSN(f *testing.F) {
	for _, seed := range []struct{ user, password, host, params string }{
		{"dataops", "s3cret", "127.0.0.1:5432", "sslmode=disable"},
		{"u", "pa#ss?w@rd/x", "db.internal", ""},
		{"u", "a b'c\\d", "h", "application_name=x@y"},
		{"u@corp", "%41%", "[::1]:5432", "password=z"},
	} {
		f.Add(seed.user, seed.password, seed.host, seed.params)
	}
	f.Fuzz(func(t *testing.T, user, password, host, params string) {
		// The password is anything; the rest is the DSN's structure, which
		// must be well formed for "its password" to mean something.
		if len(password) < 4 || strings.Contains("***", password) || !fuzzHost.MatchString(host) || !fuzzParams.MatchString(params) {
			return
		}
		quoted := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(password) + "'"
		escaped := url.QueryEscape(password)
		for _, c := range []struct{ dsn, written string }{
			{"postgres://" + url.PathEscape(user) + ":" + password + "@" + host + "/db?" + params, password},
			{"postgres://" + url.PathEscape(user) + ":" + escaped + "@" + host + "/db", escaped},
			{"postgres://" + host + "/db?sslmode=disable&password=" + escaped, escaped},
			{"host=" + strings.ReplaceAll(host, " ", "") + " password=" + quoted + " dbname=db", quoted},
			{"duckdb:///data/w.duckdb?motherduck_token=" + escaped, escaped},
		} {
			// A password that is also part of the rest of the DSN is not
			// secret there ("h" in a host "h").
			if rest := strings.Replace(c.dsn, c.written, "", 1); strings.Contains(rest, password) {
				continue
			}
			if got := MaskDSN(c.dsn); strings.Contains(got, password) {
				t.Errorf("MaskDSN(%q) = %q leaks the password %q", c.dsn, got, password)
			}
		}
	})
}
