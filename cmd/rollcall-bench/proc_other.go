//go:build !linux

package main

import (
	"errors"
	"os/exec"
)

var errNoProc = errors.New("peak RSS is read from /proc, which only Linux has")

func dieWithParent(*exec.Cmd) {}

func resetPeakRSS(int) error { return errNoProc }

func peakRSS(int) (int64, error) { return 0, errNoProc }
