package action

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// checkedOut returns the commit a git work tree has checked out, read from
// its .git folder: git itself, run as root in the Action's container,
// refuses a work tree the runner's user owns. actions/checkout leaves either a
// detached HEAD (pull_request: the merge commit) or a branch (the default
// branch on issue_comment, whose workspace is not the pull request's).
func checkedOut(workTree string) (string, error) {
	gitDir, commonDir, err := gitDirs(workTree)
	if err != nil {
		return "", err
	}
	head, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return "", err
	}
	line := strings.TrimSpace(string(head))
	ref, symbolic := strings.CutPrefix(line, "ref: ")
	if !symbolic {
		return hexSHA(line)
	}
	ref = strings.TrimSpace(ref)
	for _, dir := range []string{gitDir, commonDir} {
		if data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ref))); err == nil {
			return hexSHA(strings.TrimSpace(string(data)))
		}
	}
	return packedRef(filepath.Join(commonDir, "packed-refs"), ref)
}

// gitDirs finds the git folder of a work tree and the folder its refs are
// shared in (the same, except in linked work trees).
func gitDirs(workTree string) (gitDir, commonDir string, err error) {
	dotGit := filepath.Join(workTree, ".git")
	info, err := os.Stat(dotGit)
	if err != nil {
		return "", "", err
	}
	gitDir = dotGit
	if !info.IsDir() {
		// A linked work tree or submodule: ".git" holds "gitdir: PATH".
		data, err := os.ReadFile(dotGit)
		if err != nil {
			return "", "", err
		}
		path, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:")
		if !ok {
			return "", "", fmt.Errorf("%s: not a git folder or gitdir file", dotGit)
		}
		gitDir = strings.TrimSpace(path)
		if !filepath.IsAbs(gitDir) {
			gitDir = filepath.Join(workTree, gitDir)
		}
	}
	commonDir = gitDir
	if data, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		commonDir = strings.TrimSpace(string(data))
		if !filepath.IsAbs(commonDir) {
			commonDir = filepath.Join(gitDir, commonDir)
		}
	}
	return gitDir, commonDir, nil
}

func packedRef(path, ref string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s is in neither a ref file nor packed-refs: %w", ref, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sha, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref {
			return hexSHA(sha)
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s is not in %s", ref, path)
}

func hexSHA(s string) (string, error) {
	if len(s) != 40 && len(s) != 64 {
		return "", errors.New("HEAD is not a commit id")
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return "", errors.New("HEAD is not a commit id")
		}
	}
	return s, nil
}
