package bus

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		{"*", "market.trades", true},
		{"market.*", "market.trades", true},
		{"market.*", "market.bars.1m", true},
		{"market.*", "marketing.x", false},
		{"market.*", "market", false},
		{"market.trades", "market.trades", true},
		{"market.trades", "market.trades2", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.topic, func(t *testing.T) {
			if got := Match(tt.pattern, tt.topic); got != tt.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.topic, got, tt.want)
			}
		})
	}
}

func TestPublishStampsAndRoutes(t *testing.T) {
	b := New()
	all := b.Subscribe(10, "*")
	market := b.Subscribe(10, "market.*")
	exact := b.Subscribe(10, "system.state")
	b.Publish(Envelope{Topic: "market.trades", From: "book", Kind: "trade", Payload: 1})
	e := b.Publish(Envelope{Topic: "system.state", Payload: 2})
	if e.Seq != 2 || e.Time.IsZero() {
		t.Fatalf("second envelope stamped %d at %v", e.Seq, e.Time)
	}
	if n := len(all.C()); n != 2 {
		t.Errorf("* got %d, want 2", n)
	}
	if n := len(market.C()); n != 1 {
		t.Errorf("market.* got %d, want 1", n)
	}
	if got := <-exact.C(); got.Payload != 2 || got.Seq != 2 {
		t.Errorf("exact subscriber got %+v", got)
	}
	got := <-market.C()
	if got.From != "book" || got.Kind != "trade" || got.Seq != 1 {
		t.Errorf("envelope fields lost: %+v", got)
	}
}

func TestPublishNeverBlocksAndCountsDrops(t *testing.T) {
	b := New()
	slow := b.Subscribe(2, "*")
	fast := b.Subscribe(100, "*")
	done := make(chan struct{})
	go func() {
		for i := 0; i < 50; i++ {
			b.Publish(Envelope{Topic: "x.y", Payload: i})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a full subscriber")
	}
	if slow.Dropped() != 48 || b.Stats().Dropped != 48 {
		t.Fatalf("slow dropped %d, bus dropped %d; want 48", slow.Dropped(), b.Stats().Dropped)
	}
	if fast.Dropped() != 0 || len(fast.C()) != 50 {
		t.Fatalf("a slow neighbour cost the fast subscriber: dropped %d, has %d", fast.Dropped(), len(fast.C()))
	}
}

func TestCloseDetaches(t *testing.T) {
	b := New()
	s := b.Subscribe(4, "*")
	s.Close()
	s.Close()
	b.Publish(Envelope{Topic: "a.b"})
	if len(s.C()) != 0 || b.Stats().Subscribers != 0 {
		t.Fatal("a closed subscription still receives")
	}
}

func TestTypedTopic(t *testing.T) {
	type quote struct{ Bid, Ask float64 }
	b := New()
	topic := NewTopic[quote]("market.quotes")
	sub := b.Subscribe(4, topic.Name)
	b.Publish(Envelope{Topic: topic.Name, Payload: "not a quote"})
	topic.Publish(b, "mm-1", "", "quote", quote{99, 101})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	e, q, err := Receive[quote](ctx, sub)
	if err != nil || q.Ask != 101 || e.From != "mm-1" {
		t.Fatalf("Receive = %+v, %+v, %v", e, q, err)
	}
	if _, _, err := Receive[quote](ctx, sub); err == nil {
		t.Fatal("Receive on an empty subscription returned without its context ending")
	}
}

func TestConcurrentPublishSubscribe(t *testing.T) {
	b := New()
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				b.Publish(Envelope{Topic: "t.x"})
			}
		}()
	}
	for s := 0; s < 4; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				b.Subscribe(1, "*").Close()
			}
		}()
	}
	wg.Wait()
	if st := b.Stats(); st.Published != 4000 || st.Subscribers != 0 {
		t.Fatalf("stats %+v", st)
	}
}
