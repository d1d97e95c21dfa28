package jobs

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/metastation/metastation/app/synth"
)

// Jobs outlive the server through a manifest per job, job-ID.json, beside
// the job's file (job-ID-KIND-SEED.FORMAT) in the jobs directory. A manifest
// is the job's Status as published, written atomically (a synced temporary
// file renamed over the old one) when the job is queued, when it starts and
// when it ends. The file and its manifest live and die together: pruning
// removes both, and a new service reads the manifests back (load).
//
// A job's file is listed as done only when its manifest says so and the file
// on disk has the size the manifest recorded. A job whose manifest says
// queued or running was cut off by a crash; it comes back interrupted, and
// whatever its file had become is removed.

// manifestVersion is the layout of a manifest; a manifest of another
// version is left alone and its job not listed.
const manifestVersion = 1

type manifest struct {
	Version int `json:"version"`
	Status
}

var (
	manifestName = regexp.MustCompile(`^job-([0-9]+)\.json$`)
	jobFileName  = regexp.MustCompile(`^\.?job-([0-9]+)-`) // a job's file or its temporary file
)

func (s *Service) manifestPath(id string) string {
	return filepath.Join(s.dir, "job-"+id+".json")
}

// writeManifest saves st atomically.
func (s *Service) writeManifest(st Status) error {
	b, err := json.MarshalIndent(manifest{Version: manifestVersion, Status: st}, "", "  ")
	if err != nil {
		return fmt.Errorf("save job %s: %w", st.ID, err)
	}
	if err := synth.WriteFile(s.manifestPath(st.ID), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}); err != nil {
		return fmt.Errorf("save job %s: %w", st.ID, err)
	}
	return nil
}

// save writes the manifest of job id as it is now. Saves are serialised and
// each takes its snapshot inside the lock, so a manifest never goes back to
// an older state. A job pruned meanwhile is not written again.
func (s *Service) save(id string) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	j, ok := s.jobs[id]
	var st Status
	if ok {
		st = j.st
	}
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return s.writeManifest(st)
}

// saveLogged is save for the moments when a failure cannot be handed back:
// the job goes on, and the log says it will not be remembered as it is.
func (s *Service) saveLogged(id string) {
	if err := s.save(id); err != nil {
		s.log.Error("synth job state not saved; after a restart it will show its previous state", "job", id, "err", err)
	}
}

// syncDir makes the renames in dir durable (best effort: not every system
// can sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// load reads the manifests an earlier service left in s.dir. It runs in New,
// before anything else can touch the directory.
func (s *Service) load() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("read jobs directory: %w", err)
	}
	files := map[string][]string{} // job id -> its data and temporary files
	var ids []int
	for _, e := range ents {
		name := e.Name()
		if m := jobFileName.FindStringSubmatch(name); m != nil {
			files[trimZeros(m[1])] = append(files[trimZeros(m[1])], name)
			s.bumpNext(m[1])
			continue
		}
		if strings.HasPrefix(name, ".job-") && strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(s.dir, name)) // a manifest's temporary file, from a crash
			continue
		}
		m := manifestName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		s.bumpNext(m[1])
		st, err := s.readManifest(filepath.Join(s.dir, name), trimZeros(m[1]))
		if err != nil {
			s.log.Warn("synth job manifest skipped", "file", name, "err", err)
			continue
		}
		n, _ := strconv.Atoi(st.ID)
		ids = append(ids, n)
		s.jobs[st.ID] = &job{st: st}
	}
	slices.Sort(ids)
	for _, n := range ids {
		id := strconv.Itoa(n)
		s.order = append(s.order, id)
		j := s.jobs[id]
		changed := s.recover(&j.st)
		// Every file of the job but the done job's own is unfinished: a
		// temporary file, or a file renamed into place before the job was
		// recorded done.
		for _, f := range files[id] {
			if j.st.State == Done && f == j.st.File {
				continue
			}
			if err := os.Remove(filepath.Join(s.dir, f)); err != nil {
				s.log.Warn("unfinished synth job file not removed", "file", f, "err", err)
			}
		}
		if changed {
			if err := s.writeManifest(j.st); err != nil { // the next load comes to the same state
				s.log.Warn("synth job manifest not brought up to date", "job", id, "err", err)
			}
		}
	}
	s.pruneLocked()
	if len(ids) > 0 {
		s.log.Info("synth jobs loaded", "jobs", len(s.order), "dir", s.dir)
	}
	return nil
}

func (s *Service) bumpNext(digits string) {
	if n, err := strconv.Atoi(digits); err == nil && n > s.next {
		s.next = n
	}
}

func trimZeros(digits string) string {
	if t := strings.TrimLeft(digits, "0"); t != "" {
		return t
	}
	return "0"
}

// readManifest reads and checks one manifest.
func (s *Service) readManifest(path, id string) (Status, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Status{}, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Status{}, fmt.Errorf("damaged: %w", err)
	}
	st := m.Status
	switch {
	case m.Version != manifestVersion:
		return Status{}, fmt.Errorf("version %d, this server reads version %d", m.Version, manifestVersion)
	case st.ID != id:
		return Status{}, fmt.Errorf("it holds job %q", st.ID)
	case !slices.Contains([]string{Queued, Running, Done, Failed, Cancelled, Interrupted}, st.State):
		return Status{}, fmt.Errorf("unknown state %q", st.State)
	case st.File != "" && (filepath.Base(st.File) != st.File || !strings.HasPrefix(st.File, "job-"+id+"-")):
		return Status{}, fmt.Errorf("file name %q is not this job's", st.File)
	}
	return st, nil
}

// recover turns the state a manifest was left in into the state the job is
// in now, and says whether it changed: a queued or running job was cut off;
// a done job whose file is gone or not the size it had is no longer done.
func (s *Service) recover(st *Status) bool {
	switch st.State {
	case Queued:
		st.State, st.File, st.Bytes = Interrupted, "", 0
		st.Error = "The server stopped before this job started. Run it again to get the same data."
	case Running:
		st.State, st.File, st.Bytes, st.ETA, st.Detector, st.Quality, st.ReportRows = Interrupted, "", 0, 0, nil, nil, 0
		st.Error = interruptedSentence(*st)
	case Done:
		fi, err := os.Stat(filepath.Join(s.dir, st.File))
		switch {
		case err != nil:
			st.Error = fmt.Sprintf("Its file %s is no longer in the data directory. Run the job again to get the same data.", st.File)
		case fi.Size() != st.Bytes:
			st.Error = fmt.Sprintf("Its file %s had changed since the job finished (%d bytes, not %d), so it was removed. Run the job again to get the same data.", st.File, fi.Size(), st.Bytes)
		default:
			return false
		}
		s.log.Warn("synth job file missing or changed", "job", st.ID, "file", st.File)
		// Load removes the file of a job that is not done; the reports were
		// of that file.
		st.State, st.File, st.Bytes, st.Detector, st.Quality, st.ReportRows = Failed, "", 0, nil, nil, 0
	default:
		return false
	}
	return true
}

// interruptedSentence says that a job stopped with the server and what is left of it.
func interruptedSentence(st Status) string {
	when := ""
	switch {
	case st.Rows >= st.Spec.Rows && st.Spec.Kind == "transactions":
		when = fmt.Sprintf(", after writing its %s rows and before its reports were done", thousands(st.Spec.Rows))
	case st.Rows > 0:
		when = fmt.Sprintf(", after %s of %s rows", thousands(st.Rows), thousands(st.Spec.Rows))
	}
	return "The server stopped while this job was running" + when +
		"; its unfinished file was removed. Run it again to get the same data."
}

// thousands writes n with thousands separators: 20,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && c != '-' && s[i-1] != '-' && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
