// Oracle for skiff.format's differential tests: runs Go's real text/template with the
// functions Docker's CLI registers, and Docker's list/table formatting, on requests read
// one JSON object per line from stdin; answers one JSON object per line on stdout.
//
// Request:  {"t": template, "d": data, "list": bool, "rows": [...], "headers": {...},
//            "repeat": N}
// Response: {"out": text, "err": message-or-empty, "ns": nanoseconds for N renders}
//
// With "repeat" the data is decoded once and the render (parse, execute, tabwriter) runs
// N times; benchmarks/format_bench.py compares that time with skiff's.
//
// Decoded JSON is turned into what Docker's typed values look like: integral numbers
// become int, other numbers float64, lists of strings []string, maps of strings
// map[string]string.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"
)

type request struct {
	T       string            `json:"t"`
	D       json.RawMessage   `json:"d"`
	List    bool              `json:"list"`
	Rows    []json.RawMessage `json:"rows"`
	Headers map[string]string `json:"headers"`
	Repeat  int               `json:"repeat"`
}

type response struct {
	Out string `json:"out"`
	Err string `json:"err"`
	NS  int64  `json:"ns"`
}

func typed(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []any:
		allStr := true
		for i, e := range x {
			x[i] = typed(e)
			if _, ok := x[i].(string); !ok {
				allStr = false
			}
		}
		if allStr {
			s := make([]string, len(x))
			for i, e := range x {
				s[i] = e.(string)
			}
			return s
		}
		return x
	case map[string]any:
		allStr := true
		for k, e := range x {
			x[k] = typed(e)
			if _, ok := x[k].(string); !ok {
				allStr = false
			}
		}
		if allStr {
			m := make(map[string]string, len(x))
			for k, e := range x {
				m[k] = e.(string)
			}
			return m
		}
		return x
	}
	return v
}

func decode(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		panic(err)
	}
	return typed(v)
}

func jsonFunc(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

func same(v string) string             { return v }
func sameWith(v string, _ string) string { return v }

var funcs = template.FuncMap{
	"json":  jsonFunc,
	"split": strings.Split,
	"join":  strings.Join,
	"title": strings.Title,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(s string, before, after int) string {
		if s == "" {
			return s
		}
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"truncate": func(s string, n int) string {
		if len(s) < n {
			return s
		}
		return s[:n]
	},
}

var headerFuncs = template.FuncMap{
	"json": same, "title": same, "lower": same, "upper": same,
	"split": sameWith, "join": sameWith,
	"truncate": func(v string, _ int) string { return v },
}

func run(r request, data any, rows []any) (string, error) {
	if !r.List {
		tmpl, err := template.New("").Funcs(funcs).Parse(r.T)
		if err != nil {
			return "", err
		}
		var b bytes.Buffer
		err = tmpl.Execute(&b, data)
		return b.String(), err
	}
	// docker/cli formatter: strip "table", trim spaces, expand \t and \n escapes
	isTable := strings.HasPrefix(r.T, "table")
	f := r.T
	if isTable {
		f = f[len("table"):]
	}
	f = strings.Trim(f, " ")
	f = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(f)
	tmpl, err := template.New("").Funcs(funcs).Parse(f)
	if err != nil {
		return "", err
	}
	var body bytes.Buffer
	for _, row := range rows {
		if err := tmpl.Execute(&body, row); err != nil {
			return "", err
		}
		body.WriteString("\n")
	}
	if !isTable {
		return body.String(), nil
	}
	var out bytes.Buffer
	t := tabwriter.NewWriter(&out, 10, 1, 3, ' ', 0)
	var head bytes.Buffer
	_ = tmpl.Funcs(headerFuncs).Execute(&head, r.Headers)
	head.WriteString("\n")
	t.Write(head.Bytes())
	body.WriteTo(t)
	t.Flush()
	return out.String(), nil
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			panic(err)
		}
		data := decode(r.D)
		rows := make([]any, len(r.Rows))
		for i, row := range r.Rows {
			rows[i] = decode(row)
		}
		start := time.Now()
		res, err := run(r, data, rows)
		for i := 1; i < r.Repeat; i++ {
			res, err = run(r, data, rows)
		}
		resp := response{Out: res, NS: time.Since(start).Nanoseconds()}
		if err != nil {
			resp.Err = err.Error()
		}
		_ = out.Encode(resp)
	}
}
