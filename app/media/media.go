// Package media turns files people drop into Metastation (notes, PDFs,
// chart screenshots, recorded calls, short clips, spreadsheets) into
// memories of kind document that agents recall by meaning.
//
// One pipeline does every kind:
//
//	p, _ := media.NewPipeline(media.Config{Dir: dataDir + "/media"}, db, mem, log)
//	res, _ := p.Ingest(ctx, "call.wav", r, progress)
//
// It spools the upload to disk while hashing it (a 200 MB upload never sits
// in the heap), sniffs its type from the bytes (the name's extension is never
// trusted), checks the limits that can be read from headers before anything
// is decoded (decompression bombs), extracts text and features per kind, and
// then stores: the original under Dir by its sha256 (deduplicated, written
// atomically), a row in media_items with its features and pictures, and its
// text as memories in app/memory, chunked with each chunk's position kept.
// An item is written "ingesting" first and "ready" last; one found
// "ingesting" at start-up is completed from its stored original, so a kill
// never leaves half an item behind.
//
// Service runs uploads as jobs, one item at a time, and publishes each job's
// progress on the bus (topic media.progress).
package media

import (
	"time"
)

// Kind is the family of a file: how it is read.
type Kind string

// The kinds.
const (
	Text  Kind = "text"  // txt, md, html, pdf
	Image Kind = "image" // png, jpeg, gif, webp
	Audio Kind = "audio" // wav, mp3, flac
	Video Kind = "video" // mp4, mov, animated gif
	Data  Kind = "data"  // csv, json, jsonl, parquet
)

// Kinds lists the kinds in the order a page shows them.
var Kinds = []Kind{Text, Image, Audio, Video, Data}

// Format is a file's exact type as sniffed from its bytes.
type Format string

// The formats the pipeline reads.
const (
	TXT     Format = "txt"
	MD      Format = "md"
	HTML    Format = "html"
	PDF     Format = "pdf"
	PNG     Format = "png"
	JPEG    Format = "jpeg"
	GIF     Format = "gif"
	WEBP    Format = "webp"
	WAV     Format = "wav"
	MP3     Format = "mp3"
	FLAC    Format = "flac"
	MP4     Format = "mp4"
	MOV     Format = "mov"
	CSV     Format = "csv"
	JSON    Format = "json"
	JSONL   Format = "jsonl"
	Parquet Format = "parquet"
)

// formatInfo is what the pipeline knows of a format.
type formatInfo struct {
	kind Kind
	mime string
}

var formats = map[Format]formatInfo{
	TXT: {Text, "text/plain"}, MD: {Text, "text/markdown"}, HTML: {Text, "text/html"}, PDF: {Text, "application/pdf"},
	PNG: {Image, "image/png"}, JPEG: {Image, "image/jpeg"}, GIF: {Image, "image/gif"}, WEBP: {Image, "image/webp"},
	WAV: {Audio, "audio/wav"}, MP3: {Audio, "audio/mpeg"}, FLAC: {Audio, "audio/flac"},
	MP4: {Video, "video/mp4"}, MOV: {Video, "video/quicktime"},
	CSV: {Data, "text/csv"}, JSON: {Data, "application/json"}, JSONL: {Data, "application/x-ndjson"},
	Parquet: {Data, "application/vnd.apache.parquet"},
}

// Kind is the format's family.
func (f Format) Kind() Kind { return formats[f].kind }

// MIME is the format's media type.
func (f Format) MIME() string { return formats[f].mime }

// State is where an item is in its life.
type State string

// The states. An item is "ingesting" only between its row and its last
// memory; a crash there is completed at the next start.
const (
	Ingesting State = "ingesting"
	Ready     State = "ready"
)

// Item is one stored file and what was found in it.
type Item struct {
	ID      int64     `json:"id"`
	SHA256  string    `json:"sha256"`
	Name    string    `json:"name"`
	Format  Format    `json:"format"`
	Kind    Kind      `json:"kind"`
	MIME    string    `json:"mime"`
	Size    int64     `json:"size"`
	State   State     `json:"state"`
	Created time.Time `json:"created"`
	// Summary is one sentence a person reads on the item's card.
	Summary string `json:"summary"`
	// Excerpt is the start of the extracted text.
	Excerpt string   `json:"excerpt,omitempty"`
	Chunks  int      `json:"chunks"` // memories written for it
	Info    Info     `json:"info"`
	Assets  []string `json:"assets,omitempty"` // names of its pictures: thumb, waveform, scene-1, ...
}

// Info holds the features of an item; one part is set, by kind.
type Info struct {
	Text  *TextInfo  `json:"text,omitempty"`
	Image *ImageInfo `json:"image,omitempty"`
	Audio *AudioInfo `json:"audio,omitempty"`
	Video *VideoInfo `json:"video,omitempty"`
	Data  *DataInfo  `json:"data,omitempty"`
	// Notes say plainly what could not be done and why ("tesseract is not
	// installed, so no text was read from the image").
	Notes []string `json:"notes,omitempty"`
}

// Chunk is a piece of an item's text as written to memory, with where it
// came from.
type Chunk struct {
	Index int    `json:"index"`          // 0-based order in the item
	Page  int    `json:"page,omitempty"` // 1-based PDF page, 0 otherwise
	Start int    `json:"start"`          // byte offset of the chunk in its page's (or file's) text
	End   int    `json:"end"`
	Text  string `json:"-"`
}

// Asset is a picture derived from an item (a thumbnail, a waveform, a scene
// frame).
type Asset struct {
	Name string
	MIME string
	Data []byte
}
