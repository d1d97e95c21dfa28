package media

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
)

func TestServiceRunsJobsAndPublishesProgress(t *testing.T) {
	e := open(t, t.TempDir(), Config{NoTools: true})
	b := bus.New()
	s, err := NewService(ServiceConfig{Throttle: time.Millisecond}, e.p, b, quiet())
	if err != nil {
		t.Fatal(err)
	}
	sub := b.Subscribe(1024, TopicProgress.Name)
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	spool := func(data []byte) *Spooled {
		sp, err := e.p.Spool(ctx, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	job, err := s.Submit([]Upload{
		{Name: "call.wav", Spooled: spool(wavBytes(16000, 1, speechLike(16000, [][2]float64{{0.5, 2}}, 3, 5)))},
		{Name: "bomb.png", Spooled: spool(DeclaredPNG(20000, 20000))},
		{Name: "big.bin", Err: errs.Errorf(errs.Invalid, "the file is larger than the 1 KB an upload may be")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var last Job
	deadline := time.After(20 * time.Second)
	messages := 0
	for !last.Done {
		select {
		case env := <-sub.C():
			j := env.Payload.(Job)
			if j.ID == job.ID {
				last = j
				messages++
			}
		case <-deadline:
			t.Fatalf("job not done: %+v", last)
		}
	}
	if messages < 3 {
		t.Fatalf("%d progress messages", messages)
	}
	if it := last.Items[0]; it.State != ItemDone || it.Item == nil || it.Item.Kind != Audio {
		t.Fatalf("wav: %+v", it)
	}
	if it := last.Items[1]; it.State != ItemFailed || it.Error == "" {
		t.Fatalf("bomb: %+v", it)
	}
	if it := last.Items[2]; it.State != ItemFailed || it.Error != "The file is larger than the 1 KB an upload may be." {
		t.Fatalf("too large: %+v", it)
	}
	got, err := s.Job(job.ID)
	if err != nil || !got.Done || len(s.Jobs()) != 1 {
		t.Fatalf("job %+v %v", got, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
