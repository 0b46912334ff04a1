package scim

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"rollcall/internal/store"
)

// provLog writes provisioning log entries in the background, in batches:
// one transaction per batch instead of one per request keeps the log off
// the request's critical path (on SQLite it would otherwise take the single
// writer once more per request). Entries are buffered for at most
// flushEvery; add blocks when the buffer is full rather than drop one.
type provLog struct {
	st  Store
	log *slog.Logger

	ch      chan store.ProvisioningEntry
	flushCh chan chan struct{}
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

const (
	flushEvery = 200 * time.Millisecond
	batchMax   = 500
)

func newProvLog(st Store, log *slog.Logger) *provLog {
	p := &provLog{st: st, log: log, ch: make(chan store.ProvisioningEntry, 10_000), flushCh: make(chan chan struct{}), done: make(chan struct{}), stopped: make(chan struct{})}
	go p.run()
	return p
}

func (p *provLog) add(e store.ProvisioningEntry) {
	select {
	case p.ch <- e:
	case <-p.done:
	}
}

func (p *provLog) run() {
	defer close(p.stopped)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	var batch []store.ProvisioningEntry
	write := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.st.InsertProvisioningEntries(ctx, batch); err != nil {
			p.log.Error("provisioning log: write failed", "entries", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	collect := func(e store.ProvisioningEntry) {
		batch = append(batch, e)
		if len(batch) >= batchMax {
			write()
		}
	}
	drain := func() {
		for {
			select {
			case e := <-p.ch:
				collect(e)
			default:
				return
			}
		}
	}
	for {
		select {
		case e := <-p.ch:
			collect(e)
		case <-t.C:
			write()
		case ack := <-p.flushCh:
			drain()
			write()
			close(ack)
		case <-p.done:
			drain()
			write()
			return
		}
	}
}

// flush writes everything added so far.
func (p *provLog) flush() {
	ack := make(chan struct{})
	select {
	case p.flushCh <- ack:
		<-ack
	case <-p.done:
	}
}

// close writes what is buffered and stops the writer.
func (p *provLog) close() {
	p.once.Do(func() {
		close(p.done)
		<-p.stopped
	})
}
