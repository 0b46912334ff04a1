package ssp

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("pick a free port on %s: %w", host, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return 0, fmt.Errorf("pick a free port on %s: %w", host, err)
	}
	return port, nil
}

// process is a child process in its own process group.
type process struct {
	pid  int
	done chan struct{} // closed when the process has been reaped
	err  error         // the Wait error, valid after done
	once sync.Once
}

// startProcess starts cmd in a new process group. The goroutine that starts
// it stays on its OS thread until the process exits, because Pdeathsig
// fires when the starting thread exits (https://go.dev/issue/27505): so php
// dies with the test binary even if a cleanup never runs.
func startProcess(cmd *exec.Cmd) (*process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// kill kills the whole process group and waits, at most 10 s, until the
// leader has been reaped.
func (p *process) kill() {
	p.once.Do(func() {
		// The group id is the leader's pid. Kill the group before the
		// leader is reaped, so that the id cannot have been reused.
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
		// Anything the leader forked and that outlived it is still in
		// the group.
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
