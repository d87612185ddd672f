package web

import (
	"net/http"
	"strings"

	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/github"
	"github.com/dataops-dev/dataops/internal/scm/gitlab"
	"golang.org/x/oauth2"
)

// GitHubHost signs people in with a GitHub App's OAuth client (its client
// id and secret; the App's callback URL is PUBLIC_URL/signin/github/callback).
// webURL is GitHub's own address (https://github.com, or a GitHub
// Enterprise Server's), where its web flow lives; apiURL its REST API.
func GitHubHost(webURL, apiURL, clientID, clientSecret string, client *http.Client) Host {
	web := strings.TrimRight(webURL, "/")
	return Host{Name: "github", Title: "GitHub",
		OAuth: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret,
			Endpoint: oauth2.Endpoint{AuthURL: web + "/login/oauth/authorize", TokenURL: web + "/login/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInParams}},
		Viewer: func(token string) (scm.Viewer, error) { return github.NewViewer(apiURL, token, client) }}
}

// GitLabHost signs people in with a GitLab OAuth application (its id and
// secret, scope read_api; its redirect URI is
// PUBLIC_URL/signin/gitlab/callback). webURL is the GitLab instance,
// apiURL its API root (…/api/v4).
func GitLabHost(webURL, apiURL, applicationID, secret string, client *http.Client) Host {
	web := strings.TrimRight(webURL, "/")
	return Host{Name: "gitlab", Title: "GitLab",
		OAuth: oauth2.Config{ClientID: applicationID, ClientSecret: secret, Scopes: []string{"read_api"},
			Endpoint: oauth2.Endpoint{AuthURL: web + "/oauth/authorize", TokenURL: web + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}},
		Viewer: func(token string) (scm.Viewer, error) { return gitlab.NewViewer(apiURL, token, client) }}
}
