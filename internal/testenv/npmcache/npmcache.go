// Package npmcache installs the npm projects tests need (samlify as a second
// SAML signer, newman for Microsoft's SCIM collection) into a cache outside
// the repository, once per content, safely from parallel test processes.
//
// A project is its files (package.json, package-lock.json and any scripts).
// It lands in $ROLLCALL_NPM_CACHE (default: the user cache directory's
// rollcall-testenv) under name-<hash of the files>, installed with
// `npm ci --ignore-scripts` in a staging directory that is renamed into place
// with a completion marker, under an exclusive file lock: a crashed install
// leaves nothing a later run would trust, and two processes never install
// the same project twice. Only the npm registry must be reachable, and only
// on first use.
package npmcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"rollcall/internal/testenv/logtail"
)

// CacheEnv names the environment variable that overrides the cache root.
const CacheEnv = "ROLLCALL_NPM_CACHE"

// InstallHint says how to get node and npm on Debian.
const InstallHint = "apt-get install -y nodejs npm (Node.js 18 or newer)"

// ErrNoNode is returned when node or npm is not on PATH.
var ErrNoNode = errors.New("node and npm must be on PATH; install with: " + InstallHint)

// Ensure returns the directory of the project called name made of files,
// installing it first if needed (fresh reports that this call did).
func Ensure(name string, files map[string][]byte, timeout time.Duration) (dir string, fresh bool, err error) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", false, ErrNoNode
		}
	}
	root := os.Getenv(CacheEnv)
	if root == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", false, fmt.Errorf("no cache directory for npm installs (set %s): %w", CacheEnv, err)
		}
		root = filepath.Join(cache, "rollcall-testenv")
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s:%d:", n, len(files[n]))
		h.Write(files[n])
	}
	dir = filepath.Join(root, name+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	done := filepath.Join(dir, ".installed")
	if _, err := os.Stat(done); err == nil {
		return dir, false, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", false, fmt.Errorf("create %s: %w", root, err)
	}
	unlock, err := lock(dir+".lock", timeout+30*time.Second)
	if err != nil {
		return "", false, err
	}
	defer unlock()
	if _, err := os.Stat(done); err == nil {
		return dir, false, nil // another process installed it while we waited
	}
	staging, err := os.MkdirTemp(root, ".staging-"+name+"-*")
	if err != nil {
		return "", false, fmt.Errorf("create staging directory: %w", err)
	}
	defer os.RemoveAll(staging) // a no-op after the rename
	if err := os.Chmod(staging, 0o755); err != nil {
		return "", false, fmt.Errorf("chmod staging directory: %w", err)
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(staging, n), b, 0o644); err != nil {
			return "", false, fmt.Errorf("write %s: %w", n, err)
		}
	}
	if _, err := Run(staging, timeout, nil, "npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund",
		"--loglevel=error", "--fetch-retries=2", "--fetch-timeout=60000"); err != nil {
		return "", false, fmt.Errorf("npm ci for %s (the npm registry must be reachable on first use): %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(staging, ".installed"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", false, fmt.Errorf("mark install complete: %w", err)
	}
	// A directory left by an interrupted older install has no marker.
	if err := os.RemoveAll(dir); err != nil {
		return "", false, fmt.Errorf("remove incomplete %s: %w", dir, err)
	}
	if err := os.Rename(staging, dir); err != nil {
		return "", false, fmt.Errorf("move the install into place: %w", err)
	}
	return dir, true, nil
}

// lock takes an exclusive flock on path, waiting at most timeout.
func lock(path string, timeout time.Duration) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) // closing releases it anyway
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Run runs a command in dir in its own process group, with stdin when not
// nil, and returns its stdout. On timeout the whole group is killed; the
// error then, or on a failure, carries the end of stderr.
func Run(dir string, timeout time.Duration, stdin []byte, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return stdout.Bytes(), fmt.Errorf("%s %v in %s: timed out after %v\nstderr: %s", name, args, dir, timeout, logtail.Tail(stderr.String(), 4<<10))
	}
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %v in %s: %w\nstderr: %s", name, args, dir, err, logtail.Tail(stderr.String(), 4<<10))
	}
	return stdout.Bytes(), nil
}
