package store

import (
	"context"
	"fmt"
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

// listTotal returns the total of a list query whose page at offset (of at
// most limit items; limit 0: no page was read) held got items. countQuery
// counts the whole result with args.
func (db *DB) listTotal(ctx context.Context, countQuery string, args []any, offset, limit, got int) (int, error) {
	offset = max(offset, 0)
	if limit > 0 && got < limit && (offset == 0 || got > 0) {
		return offset + got, nil
	}
	later := limit > 0 && offset > 0 && got == limit // a full later page
	// %#v quotes strings, so ("ab","c") and ("a","bc") differ, and prints
	// numbers whole (%q printed a time bound in microseconds as one
	// invalid rune, the same for every time).
	key := countQuery + "\x00" + fmt.Sprintf("%#v", args)
	now := time.Now()
	if later {
		if n, ok := db.totals.get(key, now); ok && n >= offset+got {
			return n, nil
		}
	}
	var n int
	if err := db.queryRowRead(ctx, countQuery, args...).Scan(&n); err != nil {
		return 0, err
	}
	db.totals.put(key, n, now)
	return n, nil
}
