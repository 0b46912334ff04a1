package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Totals of list queries. A SCIM list response carries totalResults, and
// counting a workspace of a million members reads a million index entries.
// An IdP's import pages through the whole listing, so counting on every
// page would make the import quadratic. listTotal therefore counts only
// when it must: a first page that is not full, or a later page that is not
// full and not empty, already tells the total. The first page of a listing
// is always counted exactly; a later page may reuse a count made in the last
// totalTTL by this process (the listing can change between pages anyway,
// which RFC 7644 §3.4.2.4 allows for), as long as that count is not
// contradicted by the page itself.

const (
	totalTTL     = 5 * time.Second
	totalEntries = 1024
)

type totalCache struct {
	mu sync.Mutex
	m  map[string]totalEntry
}

type totalEntry struct {
	n  int
	at time.Time
}

// listTotal returns the total of a list query whose page at offset (of at
// most limit items; limit 0: no page was read) held got items. countQuery
// counts the whole result with args.
func (db *DB) listTotal(ctx context.Context, countQuery string, args []any, offset, limit, got int) (int, error) {
	offset = max(offset, 0)
	if limit > 0 && got < limit && (offset == 0 || got > 0) {
		return offset + got, nil
	}
	later := limit > 0 && offset > 0 && got == limit     // a full later page
	key := countQuery + "\x00" + fmt.Sprintf("%q", args) // %q: ("ab","c") and ("a","bc") differ
	now := time.Now()
	if later {
		db.totals.mu.Lock()
		e, ok := db.totals.m[key]
		db.totals.mu.Unlock()
		if ok && now.Sub(e.at) < totalTTL && e.n >= offset+got {
			return e.n, nil
		}
	}
	var n int
	if err := db.queryRowRead(ctx, countQuery, args...).Scan(&n); err != nil {
		return 0, err
	}
	db.totals.mu.Lock()
	if db.totals.m == nil || len(db.totals.m) >= totalEntries {
		db.totals.m = map[string]totalEntry{}
	}
	db.totals.m[key] = totalEntry{n: n, at: now}
	db.totals.mu.Unlock()
	return n, nil
}
