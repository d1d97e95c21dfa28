package media

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/metastation/metastation/app/errs"
)

// excerptBytes is how much of an item's text its card shows.
const excerptBytes = 600

// store keeps the original and writes the item and its memories: the row
// (ingesting) with its pictures and chunk positions in one transaction, the
// memories, then the row ready. Memories are validated before anything is
// written; should the process die after the row, Recover completes it.
func (p *Pipeline) store(ctx context.Context, sp *spooled, name string, format Format, ex *extracted) (Item, bool, error) {
	// The store step runs to its end even when the item's time is up: its
	// work is bounded, and stopping half-way is what must not happen.
	ctx = context.WithoutCancel(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if it, ok, err := p.bySHA(ctx, sp.sum); err != nil {
		return Item{}, false, err
	} else if ok {
		return it, true, nil // the same file finished in another job meanwhile
	}
	chunks, cut := chunkText(ex.pages, p.cfg.ChunkBytes, p.cfg.Limits.MaxChunks)
	if cut {
		ex.info.Notes = append(ex.info.Notes, fmt.Sprintf("Only the first %d chunks of the text were kept as memories.", p.cfg.Limits.MaxChunks))
	}
	it := Item{
		SHA256: sp.sum, Name: name, Format: format, Kind: ex.kind, MIME: format.MIME(), Size: sp.size,
		State: Ingesting, Created: p.cfg.Now().UTC(), Summary: ex.summary, Chunks: len(chunks) + 1, Info: ex.info,
	}
	if len(ex.pages) > 0 {
		var b strings.Builder
		for _, pg := range ex.pages {
			if b.Len() >= excerptBytes {
				break
			}
			b.WriteString(pg.text)
			b.WriteByte('\n')
		}
		it.Excerpt = strings.TrimSpace(cutUTF8(b.String(), excerptBytes))
	}
	path, err := p.files.keep(sp)
	if err != nil {
		return Item{}, false, err
	}
	id, err := p.insertItem(ctx, it, ex, chunks)
	if err != nil {
		os.Remove(path)
		return Item{}, false, err
	}
	it.ID = id
	if err := p.writeMemories(ctx, it, ex, chunks, 0); err != nil {
		return Item{}, false, err
	}
	if ex.phash != nil {
		p.phashM.Lock()
		p.phash[id] = *ex.phash
		p.phashM.Unlock()
	}
	it.State = Ready
	for _, a := range ex.assets {
		it.Assets = append(it.Assets, a.Name)
	}
	return it, false, nil
}

// writeMemories writes the item's memories after the first done (which a
// crash left written), waits for their commit and marks the item ready.
func (p *Pipeline) writeMemories(ctx context.Context, it Item, ex *extracted, chunks []Chunk, done int) error {
	ms := p.memories(it, ex, chunks)
	if done > len(ms) {
		done = len(ms)
	}
	if _, err := p.mem.WriteBatch(ctx, ms[done:]); err != nil {
		if errs.Is(err, errs.Invalid) && done == 0 {
			// Rejected before anything was written: no item either.
			if derr := p.deleteItem(ctx, it.ID); derr == nil {
				if path, perr := p.files.path(it.SHA256); perr == nil {
					os.Remove(path)
				}
			}
			return err
		}
		return errs.Wrap(errs.Unavailable, err, "the file was stored but its memories could not all be written; they will be completed at the next start")
	}
	if err := p.mem.Flush(ctx); err != nil {
		return errs.Wrap(errs.Unavailable, err, "the file was stored but its memories could not be committed; they will be completed at the next start")
	}
	return p.markReady(ctx, it.ID)
}

// Recover completes every item a crash left ingesting: it reads the stored
// original again (extraction is deterministic) and writes the memories that
// did not reach the database (the memory store commits them in order, so
// those written are a prefix). It returns how many items it completed.
func (p *Pipeline) Recover(ctx context.Context) (int, error) {
	items, err := p.ingestingItems(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range items {
		if err := p.recoverItem(ctx, it); err != nil {
			p.log.Error("media: item not completed", "item", it.ID, "name", it.Name, "err", err)
			continue
		}
		n++
	}
	return n, nil
}

func (p *Pipeline) recoverItem(ctx context.Context, it Item) error {
	f, err := p.files.open(it.SHA256)
	if err != nil {
		return err
	}
	defer f.Close()
	ictx, cancel := context.WithTimeout(ctx, p.cfg.ItemTimeout)
	defer cancel()
	ex, err := p.extractSafely(ictx, it.Format, f, it.Size, it.Name, func(float64) {})
	if err != nil {
		return fmt.Errorf("read %s again: %w", it.Name, err)
	}
	chunks, _ := chunkText(ex.pages, p.cfg.ChunkBytes, p.cfg.Limits.MaxChunks)
	done := int(p.mem.MaxLinkRef(sourceOf(it.ID), "chunk"))
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.writeMemories(context.WithoutCancel(ctx), it, ex, chunks, done); err != nil {
		return err
	}
	if ex.phash != nil {
		p.phashM.Lock()
		p.phash[it.ID] = *ex.phash
		p.phashM.Unlock()
	}
	p.log.Info("media: completed an item a stop had interrupted", "item", it.ID, "name", it.Name, "memories", len(chunks)+1-done)
	return nil
}
