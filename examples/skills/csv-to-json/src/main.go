// csv-to-json converts CSV text into JSON records, as a WASI preview 1 command built with
// GOOS=wasip1 GOARCH=wasm. It reads one JSON object on stdin and prints one on stdout; see
// ../SKILL.md for the input and output.
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxInputBytes caps stdin and the file named by "path".
const maxInputBytes = 16 << 20

type request struct {
	CSV        *string `json:"csv"`
	Path       *string `json:"path"`
	Delimiter  *string `json:"delimiter"`
	Header     *bool   `json:"header"`
	InferTypes *bool   `json:"infer_types"`
	Limit      *int    `json:"limit"`
}

type response struct {
	Columns  []string          `json:"columns"`
	Rows     []map[string]any  `json:"rows"`
	RowCount int               `json:"row_count"`
	Types    map[string]string `json:"types"`
}

// readLimited reads all of r, failing when it holds more than maxInputBytes.
func readLimited(r io.Reader, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(data) > maxInputBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", what, maxInputBytes)
	}
	return data, nil
}

// convert turns one field into a JSON value: empty -> null, integers and decimals -> numbers,
// true/false -> booleans, anything else stays a string.
func convert(field string) any {
	if field == "" {
		return nil
	}
	if i, err := strconv.ParseInt(field, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(field, 64); err == nil && !strings.ContainsAny(field, "xXnN") {
		return f // ParseFloat also accepts "NaN", "Inf" and hex; those stay strings.
	}
	switch strings.ToLower(field) {
	case "true":
		return true
	case "false":
		return false
	}
	return field
}

// kindOf names the JSON type of a converted value.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case int64:
		return "integer"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "string"
}

func run(stdin io.Reader) (*response, error) {
	raw, err := readLimited(stdin, "input")
	if err != nil {
		return nil, err
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	var text []byte
	switch {
	case req.CSV != nil && req.Path != nil:
		return nil, errors.New("input: give either 'csv' or 'path', not both")
	case req.CSV != nil:
		text = []byte(*req.CSV)
	case req.Path != nil:
		f, err := os.Open(*req.Path)
		if err != nil {
			return nil, fmt.Errorf("path: %w", err)
		}
		defer f.Close()
		if text, err = readLimited(f, "path: "+*req.Path); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("input: 'csv' (the text) or 'path' (a file) is required")
	}

	reader := csv.NewReader(bytes.NewReader(text))
	reader.FieldsPerRecord = -1 // Ragged rows are padded or reported below, not rejected.
	if req.Delimiter != nil {
		r, size := utf8.DecodeRuneInString(*req.Delimiter)
		if size == 0 || size != len(*req.Delimiter) || r == '"' || r == '\n' || r == '\r' {
			return nil, errors.New("delimiter: expected one character other than a quote or newline")
		}
		reader.Comma = r
	}
	records, err := reader.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	header := req.Header == nil || *req.Header
	infer := req.InferTypes == nil || *req.InferTypes

	resp := &response{Rows: []map[string]any{}, Types: map[string]string{}}
	if header {
		if len(records) == 0 {
			return nil, errors.New("csv: no header row")
		}
		resp.Columns, records = records[0], records[1:]
		seen := map[string]bool{}
		for i, name := range resp.Columns {
			if name == "" || seen[name] {
				return nil, fmt.Errorf("csv: header column %d: empty or repeated name %q", i+1, name)
			}
			seen[name] = true
		}
	} else {
		width := 0
		for _, rec := range records {
			width = max(width, len(rec))
		}
		for i := range width {
			resp.Columns = append(resp.Columns, fmt.Sprintf("column%d", i+1))
		}
	}
	if req.Limit != nil && (*req.Limit < 0 || *req.Limit > 1_000_000) {
		return nil, errors.New("limit: expected an integer from 0 to 1000000")
	}
	for n, rec := range records {
		if len(rec) > len(resp.Columns) {
			return nil, fmt.Errorf("csv: row %d has %d fields, the header %d", n+1, len(rec), len(resp.Columns))
		}
		resp.RowCount++
		row := make(map[string]any, len(resp.Columns))
		for i, name := range resp.Columns {
			var v any
			if i < len(rec) {
				if infer {
					v = convert(rec[i])
				} else {
					v = rec[i]
				}
			}
			row[name] = v
			// A column's type is the widest seen: integer < number < string; nulls don't count.
			k := kindOf(v)
			switch prev := resp.Types[name]; {
			case k == "null" && prev == "":
				resp.Types[name] = "null"
			case k == "null" || prev == k:
			case prev == "" || prev == "null" || (prev == "integer" && k == "number"):
				resp.Types[name] = k
			case prev == "number" && k == "integer":
			default:
				resp.Types[name] = "string"
			}
		}
		if req.Limit == nil || len(resp.Rows) < *req.Limit {
			resp.Rows = append(resp.Rows, row)
		}
	}
	return resp, nil
}

func main() {
	resp, err := run(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	if err != nil {
		out.Encode(map[string]string{"error": err.Error()})
		fmt.Fprintln(os.Stderr, "csv-to-json:", err)
		os.Exit(1)
	}
	if err := out.Encode(resp); err != nil {
		fmt.Fprintln(os.Stderr, "csv-to-json: writing the output:", err)
		os.Exit(1)
	}
}
