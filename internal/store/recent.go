package store

import (
	"sync"
	"time"
)

// recent remembers values for a while, per process: the hints listings
// use (total.go, cursor.go). Entries older than ttl are not returned; the
// map is cleared whenever it reaches size, which bounds its memory without
// bookkeeping.
type recent[K comparable, V any] struct {
	ttl  time.Duration
	size int

	mu sync.Mutex
	m  map[K]recentEntry[V]
}

type recentEntry[V any] struct {
	v  V
	at time.Time
}

func newRecent[K comparable, V any](ttl time.Duration, size int) *recent[K, V] {
	return &recent[K, V]{ttl: ttl, size: size, m: map[K]recentEntry[V]{}}
}

// get returns the value of k if it was put less than ttl before now.
func (r *recent[K, V]) get(k K, now time.Time) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[k]
	if !ok || now.Sub(e.at) >= r.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

// put remembers v for k as of now.
func (r *recent[K, V]) put(k K, v V, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= r.size {
		clear(r.m)
	}
	r.m[k] = recentEntry[V]{v: v, at: now}
}
