package deptest

import (
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func root(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// TestBinaryDependencies keeps test-only and cgo packages out of the binary.
func TestBinaryDependencies(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/rollcall")
	cmd.Dir = root(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "testing", strings.HasPrefix(dep, "github.com/chromedp/"),
			strings.HasPrefix(dep, "github.com/mattn/go-sqlite3"), strings.HasPrefix(dep, "github.com/google/go-cmp"),
			strings.HasPrefix(dep, "rollcall/internal/testenv"), strings.HasPrefix(dep, "github.com/crewjam/"):
			t.Errorf("the rollcall binary depends on %s", dep)
		}
	}
}

// TestPackageDocs requires a package doc comment on every package.
func TestPackageDocs(t *testing.T) {
	r := root(t)
	err := filepath.WalkDir(r, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") && path != r {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, build.ImportComment)
		if err != nil {
			return nil // no Go files here
		}
		if pkg.Doc == "" {
			rel, _ := filepath.Rel(r, path)
			t.Errorf("package %s (%s) has no package doc comment", pkg.Name, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
