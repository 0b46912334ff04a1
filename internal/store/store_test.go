package store_test

import (
	"testing"

	"rollcall/internal/store"
	"rollcall/internal/store/storetest"
	"rollcall/internal/testenv/dbtest"
)

// TestConformance runs the store suite on every engine.
func TestConformance(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine, func(t *testing.T) {
			storetest.Run(t, func(tb testing.TB) *store.DB { return dbtest.Open(tb, engine) })
		})
	}
}
