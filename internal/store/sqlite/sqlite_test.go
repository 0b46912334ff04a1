package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"rollcall/internal/directory"
	"rollcall/internal/store/sqlite"
)

// TestBackgroundCheckpoint proves that committed pages reach the database
// file without another write: the background checkpointer copies the WAL,
// not the next writer (whose own threshold is far above what is written
// here).
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rollcall.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := directory.NewService(db)
	for i := range 200 {
		if _, err := dir.CreateWorkspace(ctx, fmt.Sprintf("Workspace %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	peek, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer peek.Close()
	var pages, pageSize int64
	if err := peek.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if err := peek.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	want := pages * pageSize
	var size int64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if size = fi.Size(); size >= want {
			return
		}
	}
	t.Fatalf("the database file holds %d of the %d bytes committed: nothing checkpointed the WAL", size, want)
}

// TestCloseStopsCheckpointer checks that Close returns (the checkpointer
// stops before its connection closes) and leaves no WAL behind.
func TestCloseStopsCheckpointer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rollcall.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond) // let it run at least once
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Fatalf("the WAL is still there after Close (%v)", err)
	}
}
