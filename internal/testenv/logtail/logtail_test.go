package logtail

import (
	"fmt"
	"testing"
)

func TestBufferKeepsTheEnd(t *testing.T) {
	b := &Buffer{Max: 10}
	for i := range 7 {
		fmt.Fprintf(b, "%d-", i) // "0-1-2-3-4-5-6-"
	}
	if got := b.String(); got != "2-3-4-5-6-" {
		t.Fatalf("kept %q, want the last 10 bytes %q", got, "2-3-4-5-6-")
	}
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abc", 3, "abc"}, {"abcdef", 2, "…ef"}} {
		if got := Tail(tc.s, tc.n); got != tc.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
