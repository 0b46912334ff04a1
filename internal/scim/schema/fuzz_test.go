package schema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzNormalize feeds arbitrary JSON to Normalize under every option set.
// It must never panic, must fail only with a *ValueError, and must give a
// document that is its own normal form and encodes as JSON.
func FuzzNormalize(f *testing.F) {
	for _, tt := range normalizeTests(f) {
		f.Add(tt.in, tt.opts.KeepReadOnly, tt.opts.KeepNull, tt.rs == Group())
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "idp", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), false, false, strings.Contains(file, "group"))
	}
	user, group := User(), Group()
	f.Fuzz(func(t *testing.T, in string, keepReadOnly, keepNull, isGroup bool) {
		dec := json.NewDecoder(strings.NewReader(in))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			return
		}
		rs := user
		if isGroup {
			rs = group
		}
		opts := NormalizeOptions{KeepReadOnly: keepReadOnly, KeepNull: keepNull}
		got, err := rs.Normalize(doc, opts)
		if err != nil {
			var ve *ValueError
			if !errors.As(err, &ve) {
				t.Fatalf("Normalize error %T %v, want a *ValueError", err, err)
			}
			return
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("Normalize result does not encode: %v", err)
		}
		again, err := rs.Normalize(got, opts)
		if err != nil {
			t.Fatalf("Normalize(Normalize(doc)): %v", err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("Normalize is not idempotent:\nonce  %v\ntwice %v", got, again)
		}
	})
}
