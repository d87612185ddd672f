package deps

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Git packages are fetched with the git command (on every image we ship):
// one bare repository per URL, a shallow fetch of just the revision asked
// for, and `git archive` of that commit (or its subdirectory) streamed
// through the same bounded extractor as tarballs. No work tree is checked
// out, no hook or filter of the package runs, and .gitattributes'
// export-ignore is overridden so the files are exactly the commit's.

var (
	fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)
	hexRev  = regexp.MustCompile(`^[0-9a-fA-F]{4,39}$`)
)

type gitClient struct {
	tmp       string
	untrusted bool
	limits    Limits
	mask      func(string) string
	repos     map[string]string // URL -> bare repository
}

// gitError is a failed git command: its arguments and the last lines of
// what it said.
type gitError struct {
	args   []string
	stderr string
	err    error
}

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.stderr)
	if msg == "" {
		msg = e.err.Error()
	}
	return msg
}

func (e *gitError) Unwrap() error { return e.err }

// env is git's environment: never prompt, and with a pull request's URLs,
// none of the machine's git configuration (credential helpers, insteadOf
// rewrites) and only network protocols.
func (g *gitClient) env() []string {
	env := append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_LFS_SKIP_SMUDGE=1")
	if g.untrusted {
		// A home of its own: no ~/.gitconfig, ~/.netrc (which curl would
		// use to log in to the host a pull request names) or ~/.ssh.
		home := filepath.Join(g.tmp, "home")
		os.MkdirAll(home, 0o700)
		env = append(env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
			"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
			"GIT_ALLOW_PROTOCOL=https:git", "GIT_PROTOCOL_FROM_USER=0", "GIT_ASKPASS=", "SSH_ASKPASS=")
	}
	return env
}

// run runs git in dir; stdout goes to out (nil: discarded). stderr is kept
// (bounded) for the error.
func (g *gitClient) run(ctx context.Context, dir string, out io.Writer, args ...string) error {
	full := append([]string{"-c", "protocol.version=2", "-c", "credential.interactive=never"}, args...)
	if g.untrusted {
		full = append([]string{"-c", "credential.helper="}, full...)
	}
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Dir = dir
	cmd.Env = g.env()
	cmd.Stdout = out
	var stderr limitedBuffer
	stderr.max = 64 << 10
	cmd.Stderr = &stderr
	killGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &gitError{args: args, stderr: g.mask(stderr.String()), err: err}
	}
	return nil
}

// limitedBuffer keeps the first max bytes written.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// checkGitURL refuses URLs git would read as options, and in a pull
// request anything but https:// and git:// URLs to hosts on the network
// (a file:// URL or a path would read the bot's own disk, ssh would use
// its keys, and a loopback or private address would reach its neighbours).
func checkGitURL(raw string, untrusted bool) error {
	if strings.HasPrefix(raw, "-") {
		return errors.New("a git URL cannot start with '-'")
	}
	if strings.ContainsAny(raw, "\n\r\x00") {
		return errors.New("the git URL has a line break in it")
	}
	if !untrusted {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "git") {
		return errors.New("only https:// and git:// URLs are fetched for a pull request (not ssh, file:// or local paths)")
	}
	if !publicHost(u.Hostname()) {
		return fmt.Errorf("%s is not a public host", u.Hostname())
	}
	return nil
}

// publicHost rejects names and literal addresses of this machine and its
// private networks. Names that resolve to private addresses are caught for
// HTTP downloads (the dialer checks), not for git, which resolves itself.
func publicHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" || h == "localhost" || strings.HasSuffix(h, ".localhost") || strings.HasSuffix(h, ".local") || strings.HasSuffix(h, ".internal") {
		return false
	}
	if ip := net.ParseIP(h); ip != nil {
		return publicIP(ip)
	}
	return true
}

func publicIP(ip net.IP) bool {
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	// Carrier-grade NAT (100.64.0.0/10) is private in practice.
	if v4 := ip.To4(); v4 != nil && v4[0] == 100 && v4[1]&0xc0 == 64 {
		return false
	}
	return true
}

// repo returns the bare repository for a URL, made on first use.
func (g *gitClient) repo(ctx context.Context, gitURL string) (string, error) {
	if dir, ok := g.repos[gitURL]; ok {
		return dir, nil
	}
	sum := sha256.Sum256([]byte(gitURL))
	dir := filepath.Join(g.tmp, "git-"+hex.EncodeToString(sum[:6]))
	if err := g.run(ctx, g.tmp, nil, "init", "--bare", "-q", dir); err != nil {
		return "", fmt.Errorf("git init: %w", err)
	}
	// The package's files are the commit's files: no export-ignore or
	// export-subst from its .gitattributes.
	if err := os.WriteFile(filepath.Join(dir, "info", "attributes"), []byte("* -export-ignore -export-subst\n"), 0o644); err != nil {
		return "", err
	}
	if g.repos == nil {
		g.repos = map[string]string{}
	}
	g.repos[gitURL] = dir
	return dir, nil
}

// remoteRefs lists the repository's branches and tags.
func (g *gitClient) remoteRefs(ctx context.Context, dir, gitURL string) (map[string]string, error) {
	var out limitedBuffer
	out.max = 16 << 20
	if err := g.run(ctx, dir, &out, "ls-remote", "--heads", "--tags", "--", gitURL); err != nil {
		return nil, err
	}
	refs := map[string]string{}
	sc := bufio.NewScanner(&out.Buffer)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		sha, ref, ok := strings.Cut(sc.Text(), "\t")
		if ok {
			refs[ref] = sha
		}
	}
	return refs, nil
}

// checkout fetches the revision of gitURL and writes the files of its
// commit (or of subdir in it) with w. It returns the commit's SHA.
// describe names the package in messages (the URL as written, without
// secrets); at is where it was asked for.
func (g *gitClient) checkout(ctx context.Context, gitURL, rev, subdir string, w *writer, at Origin, describe string) (string, error) {
	if err := checkGitURL(gitURL, g.untrusted); err != nil {
		return "", configError(at, describe, "", "%v", err)
	}
	dir, err := g.repo(ctx, gitURL)
	if err != nil {
		return "", err
	}
	unreachable := func(err error) error {
		return &Error{File: at.File, Line: at.Line, Package: describe, Err: err,
			Message: fmt.Sprintf("cannot fetch from the git repository: %v", err),
			Hint:    "check the URL" + atHint(at) + " and that this machine can reach it (for a private repository, a token in the URL from {{ env_var('DBT_ENV_SECRET_...') }})"}
	}
	what := rev
	if what == "" {
		what = "HEAD"
	}
	var fetchRef string
	switch {
	case rev == "" || rev == "HEAD":
		fetchRef = "HEAD"
	case fullSHA.MatchString(rev):
		fetchRef = rev
	default:
		refs, err := g.remoteRefs(ctx, dir, gitURL)
		if err != nil {
			return "", unreachable(err)
		}
		switch {
		case refs["refs/tags/"+rev] != "": // dbt prefers a tag to a branch of the same name
			fetchRef = "refs/tags/" + rev
		case refs["refs/heads/"+rev] != "":
			fetchRef = "refs/heads/" + rev
		case hexRev.MatchString(rev):
			// An abbreviated commit: fetch the branches and tags, then
			// look it up.
			if err := g.fetch(ctx, dir, gitURL, false, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"); err != nil {
				return "", g.fetchError(err, unreachable, at, describe)
			}
			var out bytes.Buffer
			if err := g.run(ctx, dir, &out, "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
				return "", revisionNotFound(at, describe, rev, refs)
			}
			return g.archive(ctx, dir, strings.TrimSpace(out.String()), subdir, w, at, describe)
		default:
			return "", revisionNotFound(at, describe, rev, refs)
		}
	}
	if err := g.fetch(ctx, dir, gitURL, true, fetchRef); err != nil {
		var ge *gitError
		if fullSHA.MatchString(rev) && errors.As(err, &ge) && (strings.Contains(ge.stderr, "not our ref") || strings.Contains(ge.stderr, "couldn't find remote ref") || strings.Contains(ge.stderr, "unadvertised object")) {
			return "", configError(at, describe, "check the commit; it may have been removed by a force-push", "commit %s does not exist in the repository", rev)
		}
		return "", g.fetchError(err, unreachable, at, describe)
	}
	var out bytes.Buffer
	if err := g.run(ctx, dir, &out, "rev-parse", "--verify", "FETCH_HEAD^{commit}"); err != nil {
		return "", fmt.Errorf("%s: %s is not a commit: %w", describe, what, err)
	}
	return g.archive(ctx, dir, strings.TrimSpace(out.String()), subdir, w, at, describe)
}

func (g *gitClient) fetchError(err error, unreachable func(error) error, at Origin, describe string) error {
	if errors.Is(err, errTooBig) {
		return &Error{File: at.File, Line: at.Line, Package: describe, Message: err.Error(), Err: err}
	}
	return unreachable(err)
}

// fetch runs git fetch, killing it when the repository grows past the
// download limit (git itself has no such bound).
func (g *gitClient) fetch(ctx context.Context, dir, gitURL string, shallow bool, refspecs ...string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var over atomic.Bool
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if dirSize(filepath.Join(dir, "objects")) > g.limits.DownloadBytes {
					over.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	args := []string{"fetch", "-q", "--no-tags"}
	if shallow {
		args = append(args, "--depth", "1")
	}
	args = append(args, "--", gitURL)
	err := g.run(ctx, dir, nil, append(args, refspecs...)...)
	close(done)
	// A fetch quicker than the first look is measured once it is done.
	if over.Load() || dirSize(filepath.Join(dir, "objects")) > g.limits.DownloadBytes {
		return fmt.Errorf("the repository is larger than %s (the limit keeps a package from filling the disk): %w", sizeText(g.limits.DownloadBytes), errTooBig)
	}
	return err
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// archive streams the commit's tree (or subdir's) into w.
func (g *gitClient) archive(ctx context.Context, dir, sha, subdir string, w *writer, at Origin, describe string) (string, error) {
	treeish := sha
	if subdir != "" {
		var out bytes.Buffer
		err := g.run(ctx, dir, &out, "cat-file", "-t", sha+":"+subdir)
		if err != nil || strings.TrimSpace(out.String()) != "tree" {
			return "", configError(at, describe, "check `subdirectory:`; it is a folder path from the repository's root", "subdirectory %s is not a folder in commit %s", subdir, sha[:min(12, len(sha))])
		}
		treeish += ":" + subdir
	}
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		err := g.run(actx, dir, pw, "archive", "--format=tar", treeish)
		pw.CloseWithError(err)
		errc <- err
	}()
	xerr := w.extractTar(pr, false)
	if xerr != nil {
		cancel()
		pr.CloseWithError(xerr)
		<-errc
		return "", xerr
	}
	io.Copy(io.Discard, pr)
	if err := <-errc; err != nil {
		return "", fmt.Errorf("%s: git archive: %w", describe, err)
	}
	return sha, nil
}

// revisionNotFound lists the closest tags and branches.
func revisionNotFound(at Origin, describe, rev string, refs map[string]string) error {
	var names []string
	for ref := range refs {
		if name, ok := strings.CutPrefix(ref, "refs/tags/"); ok && !strings.HasSuffix(name, "^{}") {
			names = append(names, name)
		} else if name, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	hint := "set `revision:` to a tag, a branch or a full commit SHA"
	if best := closest(rev, names); best != "" {
		hint = fmt.Sprintf("did you mean %s? %s", best, hint)
	}
	if len(names) > 0 {
		shown := names
		if len(shown) > 15 {
			shown = append(append([]string{}, shown[len(shown)-15:]...), fmt.Sprintf("(and %d more)", len(names)-15))
		}
		hint += "; the repository has: " + strings.Join(shown, ", ")
	}
	return configError(at, describe, hint, "revision %q is not a tag, branch or commit of the repository", rev)
}

func atHint(at Origin) string {
	if at.Line > 0 {
		return fmt.Sprintf(" at %s:%d", at.File, at.Line)
	}
	if at.By != "" {
		return " (" + at.String() + ")"
	}
	return ""
}
