package httpapi

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
)

// Formats of GET /api/v1/servers/{id}/logs.
const (
	formatJSON   = "json"
	formatNDJSON = "ndjson"
	formatText   = "text"
)

var formatTypes = map[string]struct{ contentType, ext string }{
	formatJSON:   {"application/json; charset=utf-8", "json"},
	formatNDJSON: {"application/x-ndjson; charset=utf-8", "ndjson"},
	formatText:   {"text/plain; charset=utf-8", "txt"},
}

// logsRequest is a parsed logs query.
type logsRequest struct {
	query    logstore.Query
	format   string
	download bool
}

// parseLogsRequest reads level, q, since, until, limit, stream, format and download; a bad
// value is a 400 naming the parameter.
func parseLogsRequest(v url.Values) (logsRequest, error) {
	lr := logsRequest{format: formatJSON}
	limit := 0
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n == 0 {
			return lr, invalid(fmt.Sprintf("limit: must be between 1 and %d", logstore.MaxQueryLimit))
		}
		limit = n
	}
	parsed, err := engine.ParseLogQuery(engine.LogQueryParams{
		Level: v.Get("level"), Q: v.Get("q"), Since: v.Get("since"), Until: v.Get("until"), Limit: limit,
	})
	if err != nil {
		return lr, err
	}
	lr.query = parsed
	q := &lr.query
	if s := v.Get("stream"); s != "" {
		for name := range strings.SplitSeq(s, ",") {
			switch st := logstore.Stream(strings.TrimSpace(name)); st {
			case logstore.Stdout, logstore.Stderr, logstore.System, logstore.MCP, logstore.Protocol:
				q.Streams = append(q.Streams, st)
			default:
				return lr, invalid("stream: must be stdout, stderr, system, mcp or protocol (comma-separated)")
			}
		}
	}
	if s := v.Get("format"); s != "" {
		if _, ok := formatTypes[s]; !ok {
			return lr, invalid("format: must be json, ndjson or text")
		}
		lr.format = s
	}
	switch s := v.Get("download"); s {
	case "", "0", "false":
	case "1", "true":
		lr.download = true
	default:
		return lr, invalid("download: must be 1 or 0")
	}
	if lr.format != formatJSON {
		lr.download = true
	}
	return lr, nil
}

// logs answers stored entries, newest last. The entries' logData was encoded once by the log
// store (Entry.JSON); it is written as it is.
func (s *Server) logs(w http.ResponseWriter, r *http.Request, id string) {
	lr, err := parseLogsRequest(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	entries, err := s.eng.Logs(id, lr.query)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ft := formatTypes[lr.format]
	h := w.Header()
	h.Set("Content-Type", ft.contentType)
	if lr.download {
		name := fmt.Sprintf("%s-logs-%s.%s", id, time.Now().UTC().Format(time.DateOnly), ft.ext)
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	switch lr.format {
	case formatJSON:
		_, _ = bw.WriteString(`{"entries":[`)
		for i := range entries {
			if i > 0 {
				_ = bw.WriteByte(',')
			}
			_, _ = bw.Write(entries[i].JSON)
		}
		_, _ = bw.WriteString("]}\n")
	case formatNDJSON:
		for i := range entries {
			_, _ = bw.Write(entries[i].JSON)
			_ = bw.WriteByte('\n')
		}
	case formatText:
		var line []byte
		for i := range entries {
			line = appendTextLine(line[:0], &entries[i])
			_, _ = bw.Write(line)
		}
	}
	if err := bw.Flush(); err != nil {
		s.log.Debug("logs: client went away", "server", id, "err", err)
	}
}

// appendTextLine is "TIMESTAMP LEVEL [stream] message\n".
func appendTextLine(b []byte, e *logstore.Entry) []byte {
	b = protocol.AppendTime(b, e.Time)
	b = append(b, ' ')
	b = append(b, strings.ToUpper(e.Level.String())...)
	b = append(b, " ["...)
	b = append(b, e.Stream...)
	b = append(b, "] "...)
	b = append(b, e.Message...)
	return append(b, '\n')
}
