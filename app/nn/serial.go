package nn

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
)

// FormatVersion is the version of the tensor layout written by Encode. It
// changes whenever a reader of the previous version could misread the data.
const FormatVersion = 1

// ErrVersion reports a file written by another format version.
var ErrVersion = errors.New("unsupported format version")

// header is written before every body.
type header struct {
	Magic   string
	Kind    string
	Version int
}

const magic = "metastation-nn"

// Tensor is a parameter's value as serialised.
type Tensor struct {
	Name       string
	Rows, Cols int
	Data       []float64
}

// Export copies the values of params.
func Export(params []*Param) []Tensor {
	ts := make([]Tensor, len(params))
	for i, p := range params {
		ts[i] = Tensor{Name: p.Name, Rows: p.Rows, Cols: p.Cols, Data: append([]float64(nil), p.Data...)}
	}
	return ts
}

// Import copies ts into params; the count and shapes must match.
func Import(params []*Param, ts []Tensor) error {
	if len(ts) != len(params) {
		return fmt.Errorf("import: %d tensors saved, network has %d", len(ts), len(params))
	}
	for i, p := range params {
		t := ts[i]
		if t.Rows != p.Rows || t.Cols != p.Cols || len(t.Data) != len(p.Data) {
			return fmt.Errorf("import: tensor %d (%s) saved as %dx%d, network has %dx%d", i, p.Name, t.Rows, t.Cols, p.Rows, p.Cols)
		}
	}
	for i, p := range params {
		copy(p.Data, ts[i].Data)
	}
	return nil
}

// Encode writes a header naming kind and version, then v, with encoding/gob.
// float64 values round-trip bit for bit.
func Encode(w io.Writer, kind string, version int, v any) error {
	enc := gob.NewEncoder(w)
	if err := enc.Encode(header{Magic: magic, Kind: kind, Version: version}); err != nil {
		return fmt.Errorf("encode %s header: %w", kind, err)
	}
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode %s: %w", kind, err)
	}
	return nil
}

// Decode reads what Encode wrote into v. It fails with ErrVersion, before
// reading the body, when the kind or version differ from what is expected.
func Decode(r io.Reader, kind string, version int, v any) error {
	dec := gob.NewDecoder(r)
	var h header
	if err := dec.Decode(&h); err != nil {
		return fmt.Errorf("decode %s header: %w", kind, err)
	}
	if h.Magic != magic {
		return fmt.Errorf("decode %s: not a metastation file (magic %q)", kind, h.Magic)
	}
	if h.Kind != kind {
		return fmt.Errorf("decode: file holds a %q, expected a %q", h.Kind, kind)
	}
	if h.Version != version {
		return fmt.Errorf("decode %s: file has version %d, this build reads version %d: %w", kind, h.Version, version, ErrVersion)
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", kind, err)
	}
	return nil
}

// Model is a network's weights and optimiser state as saved by SaveModel.
type Model struct {
	Params []Tensor
	Adam   *AdamState
}

// SaveModel writes params and, when opt is not nil, its state.
func SaveModel(w io.Writer, params []*Param, opt *Adam) error {
	m := Model{Params: Export(params)}
	if opt != nil {
		s := opt.State()
		m.Adam = &s
	}
	return Encode(w, "model", FormatVersion, m)
}

// LoadModel reads what SaveModel wrote into params and, when both are
// present, the optimiser.
func LoadModel(r io.Reader, params []*Param, opt *Adam) error {
	var m Model
	if err := Decode(r, "model", FormatVersion, &m); err != nil {
		return err
	}
	if err := Import(params, m.Params); err != nil {
		return err
	}
	if opt != nil && m.Adam != nil {
		if err := opt.SetState(*m.Adam); err != nil {
			return err
		}
	}
	return nil
}
