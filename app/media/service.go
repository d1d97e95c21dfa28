package media

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
)

// TopicProgress carries each job's state, every item's stage and fraction,
// while it runs and once when it ends (a snapshot topic: the latest counts).
var TopicProgress = bus.NewTopic[Job]("media.progress")

// The states of a job's item.
const (
	ItemQueued    = "queued"
	ItemWorking   = "working"
	ItemDone      = "done"
	ItemDuplicate = "duplicate" // the same bytes were already stored
	ItemFailed    = "failed"
)

// Job is one upload of one or more files.
type Job struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Items   []JobItem `json:"items"`
	Done    bool      `json:"done"`
}

// JobItem is one file of a job.
type JobItem struct {
	Name     string  `json:"name"`
	Size     int64   `json:"size"`
	State    string  `json:"state"`
	Stage    string  `json:"stage,omitempty"`
	Fraction float64 `json:"fraction"`
	Error    string  `json:"error,omitempty"` // the sentence saying why it failed
	Item     *Item   `json:"item,omitempty"`  // what it became
}

// Upload is one file handed to Submit: spooled, or failed while it was
// received (too large, cut off).
type Upload struct {
	Name    string
	Spooled *Spooled
	Err     error
}

// ServiceConfig tunes the Service.
type ServiceConfig struct {
	Queue    int           // jobs waiting at most; default 32
	Keep     int           // finished jobs remembered; default 100
	Throttle time.Duration // least time between progress messages of a job; default 100 ms
}

// Service runs upload jobs one item at a time (ingestion is CPU-bound, and
// the machine is shared with the simulation) and publishes their progress.
type Service struct {
	cfg ServiceConfig
	p   *Pipeline
	bus *bus.Bus
	log *slog.Logger

	queue  chan *Job
	spools sync.Map // job id -> []*Spooled, until the job runs

	mu    sync.Mutex
	seq   int
	jobs  map[string]*Job
	order []string
}

// NewService builds the service around p.
func NewService(cfg ServiceConfig, p *Pipeline, b *bus.Bus, log *slog.Logger) (*Service, error) {
	if p == nil || b == nil {
		return nil, errors.New("media service: a pipeline and a bus are required")
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 32
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 100
	}
	if cfg.Throttle <= 0 {
		cfg.Throttle = 100 * time.Millisecond
	}
	return &Service{cfg: cfg, p: p, bus: b, log: log, queue: make(chan *Job, cfg.Queue), jobs: map[string]*Job{}}, nil
}

// Pipeline is the pipeline the service runs.
func (s *Service) Pipeline() *Pipeline { return s.p }

// Submit queues a job for the uploads and returns it at once. Uploads that
// failed on the way in are failed items of the job. When the queue is full
// nothing is queued and every spool is removed.
func (s *Service) Submit(uploads []Upload) (Job, error) {
	if len(uploads) == 0 {
		return Job{}, errs.Errorf(errs.Invalid, "an upload needs at least one file")
	}
	s.mu.Lock()
	s.seq++
	j := &Job{ID: strconv.FormatInt(time.Now().UnixMilli(), 36) + "-" + strconv.Itoa(s.seq), Created: time.Now().UTC()}
	s.mu.Unlock()
	spools := make([]*Spooled, len(uploads))
	for i, u := range uploads {
		it := JobItem{Name: cleanName(u.Name), State: ItemQueued}
		if u.Err != nil {
			it.State, it.Error, it.Fraction = ItemFailed, errs.MessageOf(u.Err), 1
		} else if u.Spooled != nil {
			it.Size = u.Spooled.Size()
			spools[i] = u.Spooled
		}
		j.Items = append(j.Items, it)
	}
	work := &Job{ID: j.ID, Created: j.Created, Items: j.Items}
	s.mu.Lock()
	s.jobs[j.ID] = work
	s.order = append(s.order, j.ID)
	s.mu.Unlock()
	s.spools.Store(j.ID, spools)
	select {
	case s.queue <- work:
	default:
		s.spools.Delete(j.ID)
		for _, sp := range spools {
			if sp != nil {
				sp.Discard()
			}
		}
		s.forget(j.ID)
		return Job{}, errs.Errorf(errs.Unavailable, "%d uploads are waiting already; try again in a moment", s.cfg.Queue)
	}
	s.publish(work)
	return s.Job(j.ID)
}

// Job returns a job's state.
func (s *Service) Job(id string) (Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return Job{}, errs.Errorf(errs.NotFound, "there is no upload job %q", id)
	}
	return cloneJob(j), nil
}

// Jobs returns the recent jobs, newest first.
func (s *Service) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Job, 0, len(s.order))
	for i := len(s.order) - 1; i >= 0; i-- {
		out = append(out, cloneJob(s.jobs[s.order[i]]))
	}
	return out
}

func cloneJob(j *Job) Job {
	c := *j
	c.Items = slices.Clone(j.Items)
	return c
}

func (s *Service) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.jobs, id)
	s.order = slices.DeleteFunc(s.order, func(x string) bool { return x == id })
}

// Run completes items a crash interrupted, then runs jobs until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if n, err := s.p.Recover(ctx); err != nil {
		s.log.Error("media: recovery", "err", err)
	} else if n > 0 {
		s.log.Info("media: completed interrupted items", "items", n)
	}
	for {
		select {
		case <-ctx.Done():
			s.drain()
			return nil
		case j := <-s.queue:
			s.run(ctx, j)
		}
	}
}

// drain removes the spools of jobs that will not run.
func (s *Service) drain() {
	for {
		select {
		case j := <-s.queue:
			if v, ok := s.spools.LoadAndDelete(j.ID); ok {
				for _, sp := range v.([]*Spooled) {
					if sp != nil {
						sp.Discard()
					}
				}
			}
		default:
			return
		}
	}
}

func (s *Service) run(ctx context.Context, j *Job) {
	v, _ := s.spools.LoadAndDelete(j.ID)
	spools, _ := v.([]*Spooled)
	var last time.Time
	for i := range j.Items {
		if i >= len(spools) || spools[i] == nil {
			continue
		}
		s.update(j, i, func(it *JobItem) { it.State, it.Stage = ItemWorking, "reading" })
		progress := func(stage string, f float64) {
			s.update(j, i, func(it *JobItem) { it.Stage, it.Fraction = stage, f })
			if time.Since(last) >= s.cfg.Throttle {
				last = time.Now()
				s.publish(j)
			}
		}
		res, err := s.p.IngestSpooled(ctx, j.Items[i].Name, spools[i], progress)
		s.update(j, i, func(it *JobItem) {
			it.Fraction, it.Stage = 1, ""
			switch {
			case err != nil:
				it.State, it.Error = ItemFailed, errs.MessageOf(err)
			case res.Duplicate:
				it.State, it.Item = ItemDuplicate, &res.Item
			default:
				it.State, it.Item = ItemDone, &res.Item
			}
		})
		if err != nil && errs.CodeOf(err) == errs.Internal {
			s.log.Error("media: item failed", "job", j.ID, "name", j.Items[i].Name, "err", err)
		}
		s.publish(j)
	}
	s.mu.Lock()
	j.Done = true
	for len(s.order) > s.cfg.Keep {
		delete(s.jobs, s.order[0])
		s.order = s.order[1:]
	}
	s.mu.Unlock()
	s.publish(j)
}

func (s *Service) update(j *Job, i int, f func(*JobItem)) {
	s.mu.Lock()
	f(&j.Items[i])
	s.mu.Unlock()
}

func (s *Service) publish(j *Job) {
	s.mu.Lock()
	c := cloneJob(j)
	s.mu.Unlock()
	TopicProgress.Publish(s.bus, "media", "", "job", c)
}
