package deps

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// The dbt package hub's API, as dbt-core reads it (dbt/clients/registry.py)
// and hub.getdbt.com serves it (its source/api/v1/*.erb templates over the
// data/packages/<namespace>/<name>/ files):
//
//	GET {hub}/api/v1/index.json                 ["dbt-labs/dbt_utils", ...]
//	GET {hub}/api/v1/{namespace}/{name}.json    {"name", "namespace", "latest",
//	    "redirectnamespace"?, "redirectname"?,
//	    "versions": {"1.3.0": {"id", "name", "version", "packages": [specs],
//	    "require_dbt_version": [..], "downloads": {"tarball", "format", "sha1"}}}}
//
// A version's "name" is the project name it installs as, "packages" are its
// own requirements (in packages.yml's shape), and "tarball" is a GitHub
// codeload tarball with one top folder.

// DefaultHubURL is dbt's; DBT_PACKAGE_HUB_URL overrides it, as for dbt.
const DefaultHubURL = "https://hub.getdbt.com/"

// dbtVersion is the dbt-core version whose behaviour dataops follows; hub
// versions whose require_dbt_version excludes it are not installed, as dbt
// (with its default version check) would not install them.
const dbtVersion = "1.11.0"

// maxHubDocument bounds one JSON document from the hub (dbt_utils, with
// every version, is about 150 KB).
const maxHubDocument = 32 << 20

type hubPackage struct {
	Name              string                `json:"name"`
	Namespace         string                `json:"namespace"`
	Latest            string                `json:"latest"`
	RedirectNamespace string                `json:"redirectnamespace"`
	RedirectName      string                `json:"redirectname"`
	Versions          map[string]hubVersion `json:"versions"`
}

type hubVersion struct {
	Name              string           `json:"name"`
	Version           string           `json:"version"`
	Packages          []map[string]any `json:"packages"`
	RequireDBTVersion any              `json:"require_dbt_version"`
	Downloads         struct {
		Tarball string `json:"tarball"`
	} `json:"downloads"`
}

type hubClient struct {
	base   string
	client *http.Client
	docs   map[string]*hubPackage
	index  []string
}

func newHubClient(base string, client *http.Client) *hubClient {
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return &hubClient{base: base, client: client, docs: map[string]*hubPackage{}}
}

// hubUnreachable says the hub did not answer, and how to point elsewhere.
func (h *hubClient) unreachable(err error) error {
	msg := fmt.Sprintf("cannot reach the dbt package hub at %s: %v", h.base, err)
	if u, perr := url.Parse(h.base); perr == nil && u.User != nil {
		// A mirror's URL may carry a password; url.Error repeats the URL.
		msg = strings.ReplaceAll(msg, u.User.String()+"@", "")
	}
	return &Error{Message: msg, Err: err,
		Hint: "check the network; to use a mirror, set DBT_PACKAGE_HUB_URL"}
}

// pkg returns a package's document (every version), once per run.
func (h *hubClient) pkg(ctx context.Context, name string, at Origin) (*hubPackage, error) {
	if doc, ok := h.docs[name]; ok {
		return doc, nil
	}
	ns, short, _ := strings.Cut(name, "/")
	if strings.Trim(ns, ".") == "" || strings.Trim(short, ".") == "" {
		return nil, configError(at, name, "", "is not a valid hub package name")
	}
	body, status, err := h.get(ctx, h.base+"api/v1/"+url.PathEscape(ns)+"/"+url.PathEscape(short)+".json")
	if err != nil {
		return nil, h.unreachable(err)
	}
	if status == http.StatusNotFound {
		hint := "check the name on https://hub.getdbt.com"
		if index, err := h.packageIndex(ctx); err == nil {
			if best := closest(name, index); best != "" {
				hint = fmt.Sprintf("did you mean %s?", best)
			}
		}
		return nil, configError(at, name, hint, "not found in the package hub (%s)", redactURL(h.base))
	}
	if status != http.StatusOK {
		return nil, h.unreachable(fmt.Errorf("%s answered %d", name, status))
	}
	var doc hubPackage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, h.unreachable(fmt.Errorf("%s: the hub's answer is not a package document: %v", name, err))
	}
	if doc.Versions == nil {
		return nil, h.unreachable(fmt.Errorf("%s: the hub's answer has no versions", name))
	}
	h.docs[name] = &doc
	return &doc, nil
}

// redactURL drops a URL's user and password, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// packageIndex lists every package on the hub (only to suggest names).
func (h *hubClient) packageIndex(ctx context.Context) ([]string, error) {
	if h.index != nil {
		return h.index, nil
	}
	body, status, err := h.get(ctx, h.base+"api/v1/index.json")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("index.json: status %d", status)
	}
	if err := json.Unmarshal(body, &h.index); err != nil {
		return nil, err
	}
	return h.index, nil
}

// get fetches a hub document, retrying what may pass (network errors,
// 429, 5xx) as dbt does.
func (h *hubClient) get(ctx context.Context, u string) ([]byte, int, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			case <-time.After(time.Duration(attempt) * retryDelay):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, 0, err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "dataops-deps")
		resp, err := h.client.Do(req)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				return nil, 0, err
			}
			continue
		}
		body, err := readBounded(resp.Body, maxHubDocument)
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			lastErr = fmt.Errorf("%s answered %d", u, resp.StatusCode)
			continue
		}
		return body, resp.StatusCode, nil
	}
	return nil, 0, lastErr
}

func readBounded(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("the answer is larger than %s", sizeText(max))
	}
	return b, nil
}

// compatible reports whether a hub version allows the dbt version dataops
// follows (dbt's registry.is_compatible_version).
func (v hubVersion) compatible() bool {
	var reqs []string
	switch x := v.RequireDBTVersion.(type) {
	case string:
		reqs = []string{x}
	case []any:
		for _, r := range x {
			if s, ok := r.(string); ok {
				reqs = append(reqs, s)
			}
		}
	}
	if len(reqs) == 0 {
		return true
	}
	cs := make([]Constraint, 0, len(reqs))
	for _, r := range reqs {
		c, err := ParseConstraint(r)
		if err != nil {
			return true // a package's own odd requirement does not block it
		}
		cs = append(cs, c)
	}
	rng, err := Reduce(cs)
	if err != nil {
		return false
	}
	v0, _ := ParseVersion(dbtVersion)
	return rng.Contains(v0)
}

// jsonToPy converts encoding/json values (with UseNumber) to the Python
// types the hash and the spec reader use.
func jsonToPy(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonToPy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonToPy(e)
		}
		return out
	}
	return v
}

// downloader fetches tarballs: hub packages' (trusted: the hub chose the
// URL) and tarball packages' (in a pull request, untrusted: only https to
// public addresses, checked when connecting, so a name that resolves to a
// private address is refused too).
type downloader struct {
	client *http.Client
}

var errNotPublic = errors.New("not a public address")

// retryDelay is the pause before a second attempt (a third waits twice
// as long).
var retryDelay = 500 * time.Millisecond

// publicOnlyClient is an HTTP client that connects only to public
// addresses over https, without a proxy.
func publicOnlyClient() *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip == nil || !publicIP(ip) {
			return fmt.Errorf("refusing to connect to %s: %w", host, errNotPublic)
		}
		return nil
	}}
	return &http.Client{
		Transport: &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 30 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second, MaxIdleConns: 4},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" {
				return errors.New("redirected to a URL that is not https")
			}
			return nil
		},
	}
}

// extract downloads a .tar.gz (or plain .tar) and writes its one top
// folder's files with w. Network failures are retried from scratch.
func (d downloader) extract(ctx context.Context, u string, w *writer, maxDownload int64) error {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			if err := w.reset(); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * retryDelay):
			}
		}
		retry, err := d.extractOnce(ctx, u, w, maxDownload)
		if err == nil || !retry {
			return err
		}
		lastErr = err
	}
	return lastErr
}

func (d downloader) extractOnce(ctx context.Context, u string, w *writer, maxDownload int64) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("User-Agent", "dataops-deps")
	resp, err := d.client.Do(req)
	if err != nil {
		return ctx.Err() == nil && !errors.Is(err, errNotPublic), err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, fmt.Errorf("%s answered %d %s", u, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	body := &capped{r: resp.Body, left: maxDownload}
	br := bufio.NewReader(body)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return false, fmt.Errorf("%s: not a gzip archive: %w", u, err)
		}
		r = zr
	}
	if err := w.extractTar(r, true); err != nil {
		if body.over {
			return false, w.tooBig("the download is larger than %s", sizeText(maxDownload))
		}
		var ne net.Error
		return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF), err
	}
	return false, nil
}

// capped fails a read past its size, so a huge download is an error, not
// a silently shortened archive.
type capped struct {
	r    io.Reader
	left int64
	over bool
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			c.over = true
			return 0, errTooBig
		}
		return c.r.Read(p)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
