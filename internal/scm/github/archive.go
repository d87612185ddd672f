package github

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	gh "github.com/google/go-github/v62/github"
)

// Archive returns the repository's files at sha as a gzipped tarball.
// GitHub answers the tarball endpoint with a redirect to codeload, whose URL
// carries a short-lived token of its own; the download follows it without
// the API credentials, which must not travel to another host.
func (h *Host) Archive(ctx context.Context, sha string) (io.ReadCloser, error) {
	if err := ctxOK(ctx); err != nil {
		return nil, err
	}
	if sha == "" {
		return nil, fmt.Errorf("download the archive: no commit")
	}
	u := fmt.Sprintf("repos/%s/%s/tarball/%s", url.PathEscape(h.owner), url.PathEscape(h.repo), url.PathEscape(sha))
	req, err := h.client.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, h.fail(err, "download the archive of %s", short(sha))
	}
	// The API client's transport, not its http.Client: the redirect is
	// followed below, without credentials.
	resp, err := h.client.Client().Transport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return nil, h.fail(err, "download the archive of %s", short(sha))
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Body, nil
	case http.StatusFound, http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusSeeOther:
	default:
		defer resp.Body.Close()
		if err := gh.CheckResponse(resp); err != nil {
			return nil, h.fail(err, "download the archive of %s", short(sha))
		}
		return nil, fmt.Errorf("download the archive of %s: unexpected status %s", short(sha), resp.Status)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		return nil, h.fail(err, "download the archive of %s: redirect", short(sha))
	}
	dreq, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, h.fail(err, "download the archive of %s", short(sha))
	}
	dresp, err := h.download.Do(dreq)
	if err != nil {
		return nil, h.fail(err, "download the archive of %s", short(sha))
	}
	if dresp.StatusCode != http.StatusOK {
		dresp.Body.Close()
		return nil, fmt.Errorf("download the archive of %s from %s: %s", short(sha), loc.Host, dresp.Status)
	}
	return dresp.Body, nil
}
