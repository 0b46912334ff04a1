package store

import "time"

// Continuations of the SCIM listing. An IdP's import pages through a
// workspace in SCIM id order with startIndex=1, 101, 201, …; served as an
// offset, each page skips every index entry before it, so reading a million
// members costs a quadratic number of entries (about 200 ms a page at the
// middle of a million on PostgreSQL). When this process served the page
// that ends just before an offset in the last cursorTTL, the page at that
// offset instead continues after the last SCIM id served: one index seek.
//
// A continued page is what the walk would have seen had nothing changed
// since its previous page, whereas an offset counts again: if members
// before the page were deleted in between, an offset skips as many
// members of the walk, and a continuation skips none. RFC 7644 §3.4.2.4
// does not require pages to be consistent with each other; a walk that
// neither skips nor repeats a member is the better answer. The cache is
// per process and only a shortcut: a replica without the entry counts the
// offset.

const (
	cursorTTL     = time.Minute
	cursorEntries = 4096
)

type cursorKey struct {
	ws     string
	order  string // the ORDER BY of the listing (its direction)
	offset int
}
