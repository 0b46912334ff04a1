package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildServer builds ./cmd/rollcall of the module this tool belongs to
// into dir and returns the binary's path.
func buildServer(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "rollcall")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/rollcall")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // the binary the project ships
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/rollcall: %v\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot returns the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w (run the tool from the Rollcall repository)", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the Rollcall module: run the tool from the repository, or give -server-bin")
	}
	return filepath.Dir(mod), nil
}

// child is a running "rollcall serve".
type child struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
}

// startServer starts bin serving database on a free loopback port and
// waits until it answers /healthz. The port is found by listening on
// port 0 and closing again, so another process may take it in between;
// startServer then tries again with another port.
func startServer(ctx context.Context, bin, database, logPath string) (*child, error) {
	var lastErr error
	for range 3 {
		c, err := startServerOnce(ctx, bin, database, logPath)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func startServerOnce(ctx context.Context, bin, database, logPath string) (*child, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	// --scim-rate -1: no rate limit, so the figures measure the server
	// rather than its throttle.
	cmd := exec.Command(bin, "serve", "--listen", addr, "--database", database, "--base-url", "http://"+addr, "--scim-rate", "-1")
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	c := &child{cmd: cmd, base: "http://" + addr, logPath: logPath, done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	if err := c.waitHealthy(ctx, time.Minute); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// serverEnv is this process's environment without ROLLCALL_ variables,
// so nothing but the flags above configures the server under test.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROLLCALL_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) waitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/healthz", nil) // a constant, valid URL
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.done:
			return fmt.Errorf("the server exited before answering (%v); its log:\n%s", c.waitErr, c.logTail(30))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server did not answer %s/healthz within %s; its log:\n%s", c.base, limit, c.logTail(30))
		}
	}
}

// alive returns an error with the end of the server's log if it exited.
func (c *child) alive() error {
	select {
	case <-c.done:
		return fmt.Errorf("the server exited (%v); its log:\n%s", c.waitErr, c.logTail(30))
	default:
		return nil
	}
}

// stop asks the server to shut down gracefully, as an operator would, and
// kills it if it has not exited within 40 s.
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM) // it may have exited just now; Kill below covers the rest
	select {
	case <-c.done:
	case <-time.After(40 * time.Second):
		_ = c.cmd.Process.Kill() // best effort; Wait below reaps it
		<-c.done
	}
}

// logTail returns the last n lines of the server's log.
func (c *child) logTail(n int) string {
	data, err := os.ReadFile(c.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
