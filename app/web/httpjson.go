package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// decodeJSON reads exactly one JSON object from the request body into v,
// refusing unknown fields. When it cannot, it answers 400 with a sentence a
// person can act on (example shows what a good body looks like) and returns
// false. Every JSON API handler decodes through it.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, example string) bool {
	dec := json.NewDecoder(r.Body)
	var raw json.RawMessage
	err := dec.Decode(&raw)
	if err == nil && !atEOF(dec) {
		writeError(w, r, http.StatusBadRequest, "The request body must hold one JSON object.")
		return false
	}
	if err != nil {
		status := http.StatusBadRequest
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			// A chunked body has no Content-Length for limitBody to refuse
			// up front; past the cap it is as too large as a declared one.
			status = http.StatusRequestEntityTooLarge
		}
		msg := decodeSentence(err, example)
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			msg = tooLargeSentence(r, tooBig.Limit)
		}
		writeError(w, r, status, msg)
		return false
	}
	// Only an object: null would leave v as it is, the zero request (a null
	// body once reset the market's script), and [] or 3 are not requests.
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		writeError(w, r, http.StatusBadRequest, "The request body must be a JSON object like "+example+".")
		return false
	}
	obj := json.NewDecoder(bytes.NewReader(raw))
	obj.DisallowUnknownFields()
	if err := obj.Decode(v); err != nil {
		writeError(w, r, http.StatusBadRequest, decodeSentence(err, example))
		return false
	}
	return true
}

func decodeSentence(err error, example string) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return "The request body is empty; send JSON like " + example + "."
	case errors.As(err, &tooBig):
		return fmt.Sprintf("The request body is larger than the %d bytes this request accepts.", tooBig.Limit)
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return "The request body is not valid JSON; send JSON like " + example + "."
	case errors.As(err, &typ) && typ.Field == "":
		return "The request body must be a JSON object like " + example + "."
	case errors.As(err, &typ):
		return fmt.Sprintf("The field %q must be %s.", typ.Field, jsonTypeName(typ.Type.String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "The request has an unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + "; send JSON like " + example + "."
	}
	return "The request body could not be read; send JSON like " + example + "."
}

func jsonTypeName(t string) string {
	switch strings.TrimPrefix(t, "*") {
	case "int", "int64", "int32":
		return "a whole number"
	case "uint64", "uint32", "uint":
		return "a whole number from 0 up"
	case "float64", "float32":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	}
	return "of another type"
}

// atEOF reports whether nothing but white space follows the value dec read
// (dec.More alone lets a stray "}" or "]" through).
func atEOF(dec *json.Decoder) bool {
	_, err := dec.Token()
	return errors.Is(err, io.EOF)
}
