package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/scm/gitlab"
)

func TestIsPermanent(t *testing.T) {
	configErr := &config.Error{Path: "dataops.yml", Line: 3, Field: "gate.approvals", Message: "must be a number"}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"a bad dataops.yml", fmt.Errorf("read: %w", configErr), true},
		{"marked", permanent(errors.New("the event has no installation"), ""), true},
		{"a missing commit on GitLab", &gitlab.Error{Op: "download the archive", StatusCode: 404}, true},
		{"credentials refused", &gitlab.Error{Op: "read", StatusCode: 401}, true},
		{"a 502", &gitlab.Error{Op: "read", StatusCode: 502}, false},
		{"a rate limit", &gitlab.Error{Op: "read", StatusCode: 429}, false},
		{"a network error", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{"a timeout", fmt.Errorf("download: %w", context.DeadlineExceeded), false},
		{"a paused host", ErrHostPaused, false},
		{"a warehouse away", &WarehouseError{Err: errors.New("connect: connection refused")}, false},
		{"anything else", errors.New("something odd"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := isPermanent(c.err); got != c.want {
				t.Errorf("isPermanent(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

// TestPublicReason: what reaches a pull request names no host URL and no
// credential a URL carries.
func TestPublicReason(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"go-github's request line", "download the archive of abc1234: GET http://127.0.0.1:43121/repos/acme/shop/tarball/abc1234deadbeef: 404 Not Found []",
			"download the archive of abc1234: 404 Not Found"},
		{"an enterprise URL", "read pull request #7: GET https://ghe.example.com/api/v3/repos/acme/shop/pulls/7: 502 Bad Gateway []; retried 3 times",
			"read pull request #7: 502 Bad Gateway; retried 3 times"},
		{"a URL with a token", `Get "https://codeload.example.com/acme/shop/legacy.tar.gz/abc?token=AAAABBBB": dial tcp: i/o timeout`,
			`Get "[https address]": dial tcp: i/o timeout`},
		{"a DSN", "open warehouse postgres://dataops:s3cret@db:5432/analytics: refused", "open warehouse [postgres address]: refused"},
		{"plain", "gitlab: read merge request !7: 404 Not Found (it does not exist)", "gitlab: read merge request !7: 404 Not Found (it does not exist)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := publicReason(errors.New(c.in))
			if got != c.want {
				t.Errorf("publicReason(%q)\n = %q\nwant %q", c.in, got, c.want)
			}
			for _, secret := range []string{"127.0.0.1", "ghe.example.com", "AAAABBBB", "s3cret"} {
				if strings.Contains(got, secret) {
					t.Errorf("%q leaks %s", got, secret)
				}
			}
		})
	}
}

func FuzzScrub(f *testing.F) {
	f.Add("GET https://api.github.com/repos/a/b: 404 Not Found []")
	f.Add("postgres://u:p@h/db?sslmode=disable and http://x")
	f.Fuzz(func(t *testing.T, s string) {
		out := scrub(s)
		if anyURL.MatchString(out) {
			t.Errorf("scrub(%q) = %q still holds a URL", s, out)
		}
	})
}
