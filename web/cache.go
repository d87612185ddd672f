package web

import (
	"html/template"
	"sync"
)

// reportCache keeps the rendered report parts of recent run pages: a
// large project's report takes a tenth of a second or more to decode and
// render, and is the same for every reader until its run's record
// changes (its key holds the record's version). It holds at most max
// bytes and forgets the least recently used first. It is a cache: a
// replica without it renders again.
type reportCache struct {
	max int

	mu      sync.Mutex
	size    int
	entries map[string]*cachedReport
	clock   uint64
}

type cachedReport struct {
	html template.HTML
	used uint64
}

// maxCachedReports bounds the rendered reports kept, in bytes.
const maxCachedReports = 64 << 20

func newReportCache(max int) *reportCache {
	return &reportCache{max: max, entries: map[string]*cachedReport{}}
}

func (c *reportCache) get(key string) (template.HTML, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return "", false
	}
	c.clock++
	e.used = c.clock
	return e.html, true
}

func (c *reportCache) put(key string, html template.HTML) {
	if len(html) > c.max/4 {
		return // one report may not push out all the others
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok {
		c.size -= len(old.html)
	}
	c.clock++
	c.entries[key] = &cachedReport{html: html, used: c.clock}
	c.size += len(html)
	for c.size > c.max {
		var oldest string
		var at uint64
		for k, e := range c.entries {
			if oldest == "" || e.used < at {
				oldest, at = k, e.used
			}
		}
		c.size -= len(c.entries[oldest].html)
		delete(c.entries, oldest)
	}
}
