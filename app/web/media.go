package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/media"
)

// The media API: files people drop in become memories. Wired in routes.go:
//
//	GET  /media                           the Media page
//	POST /api/media                       multipart/form-data, files in any field -> 202 {job}
//	GET  /api/media                       ?kind=&before=&limit=: items, newest first
//	GET  /api/media/jobs                  recent upload jobs, newest first
//	GET  /api/media/jobs/{id}             one job (its progress is also on media.progress)
//	GET  /api/media/{id}                  an item, its chunks' positions and its near-duplicates
//	GET  /api/media/{id}/assets/{name}    a picture of it: thumb, waveform, scene-N
//	GET  /api/media/{id}/original         the stored original, as a download
//	GET  /api/media/tools                 which Debian tools are installed, and the limits
//
// The upload is streamed: each file goes straight to a spool file on disk
// (one copy buffer of memory), so a 200 MB file never sits in the heap.

// maxUploadBytes caps one upload request (all its files); each file is
// capped by the pipeline's own limits.
const maxUploadBytes = 1 << 30

// maxUploadFiles is how many files one upload may carry.
const maxUploadFiles = 50

func mediaUpload(svc *media.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// A declared length is checked against the free disk before a byte
		// is spooled (a chunked upload meets the disk's end as it writes).
		if err := svc.Pipeline().CheckSpace(r.ContentLength); err != nil {
			writeAppError(w, r, err)
			return
		}
		mr, err := r.MultipartReader()
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "An upload is a multipart/form-data request with one or more files.")
			return
		}
		var ups []media.Upload
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					ups = append(ups, media.Upload{Name: "(the rest of the upload)", Err: errs.Errorf(errs.TooLarge, "the upload is larger than the %d MB one request may carry", maxUploadBytes>>20)})
				} else if len(ups) == 0 {
					writeError(w, r, http.StatusBadRequest, "The upload could not be read as multipart/form-data.")
					return
				}
				break
			}
			name := part.FileName()
			if name == "" {
				part.Close()
				continue
			}
			if len(ups) >= maxUploadFiles {
				ups = append(ups, media.Upload{Name: name, Err: errs.Errorf(errs.Invalid, "one upload carries at most %d files", maxUploadFiles)})
				part.Close()
				continue
			}
			sp, err := svc.Pipeline().Spool(r.Context(), part)
			part.Close()
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				err = errs.Errorf(errs.TooLarge, "the upload is larger than the %d MB one request may carry", maxUploadBytes>>20)
			}
			ups = append(ups, media.Upload{Name: name, Spooled: sp, Err: err})
			if err != nil && errors.As(err, &tooLarge) {
				break
			}
		}
		if len(ups) == 0 {
			writeError(w, r, http.StatusBadRequest, "The upload has no file in it.")
			return
		}
		job, err := svc.Submit(ups)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, job)
	}
}

func mediaList(svc *media.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := media.ListQuery{Kind: media.Kind(r.URL.Query().Get("kind"))}
		var err error
		if q.Before, err = optInt(r, "before"); err != nil {
			writeAppError(w, r, err)
			return
		}
		limit, err := optInt(r, "limit")
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		q.Limit = int(limit)
		items, err := svc.Pipeline().List(r.Context(), q)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		counts, err := svc.Pipeline().Counts(r.Context())
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": items, "counts": counts})
	}
}

func optInt(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errs.Errorf(errs.Invalid, "%s must be a whole number, not %q", name, s)
	}
	return n, nil
}

func mediaJobs(svc *media.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"jobs": svc.Jobs()})
	}
}

func mediaJob(svc *media.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		j, err := svc.Job(chi.URLParam(r, "id"))
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, j)
	}
}

func mediaItemID(r *http.Request) (int64, error) {
	s := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.Errorf(errs.Invalid, "a media item id is a positive whole number, not %q", s)
	}
	return id, nil
}

func mediaItem(svc *media.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := mediaItemID(r)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		p := svc.Pipeline()
		it, err := p.Get(r.Context(), id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		chunks, err := p.Chunks(r.Context(), id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		near, err := p.NearDuplicates(r.Context(), id, 0)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"item": it, "chunks": chunks, "near_duplicates": near})
	}
}

func mediaAsset(svc *media.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := mediaItemID(r)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		a, err := svc.Pipeline().Asset(r.Context(), id, chi.URLParam(r, "name"))
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", a.MIME)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "private, max-age=86400") // an item's pictures never change
		w.Write(a.Data)
	}
}

// mediaOriginal serves a stored file as a download, never inline: an
// uploaded HTML page must not run as part of the app.
func mediaOriginal(svc *media.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := mediaItemID(r)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		it, f, err := svc.Pipeline().Original(r.Context(), id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "sandbox")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": it.Name}))
		w.Header().Set("Content-Length", strconv.FormatInt(it.Size, 10))
		io.Copy(w, f)
	}
}

func mediaTools(svc *media.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t := svc.Pipeline().Tools()
		lim := svc.Pipeline().Limits()
		caps := map[string]int64{}
		for k, v := range lim.MaxBytes {
			caps[string(k)] = v
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"tesseract": t.Tesseract != "", "ffmpeg": t.FFmpeg != "", "ffprobe": t.FFprobe != "",
			"max_upload": lim.MaxUpload, "max_bytes": caps, "max_pixels": lim.MaxPixels, "max_files": maxUploadFiles,
			"formats": strings.Split("txt md html pdf png jpeg gif webp wav mp3 flac mp4 mov csv json jsonl parquet", " "),
		})
	}
}
