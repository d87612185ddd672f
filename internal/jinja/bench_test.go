package jinja

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"
)

// Benchmarks of parsing and rendering a dbt-shaped model, with Go's
// text/template rendering the same output as the baseline in the same run
// (BENCHMARKS.md, section "Template engine").

const benchModel = `{{ config(materialized='table', tags=['finance', 'daily']) }}
{%- set payment_methods = ['credit_card', 'coupon', 'bank_transfer', 'gift_card'] -%}
{%- macro cents_to_dollars(column_name, precision=2) -%}
    round(cast({{ column_name }} as numeric) / 100, {{ precision }})
{%- endmacro %}

with orders as (

    select * from {{ ref('stg_orders') }}

),

payments as (

    select * from {{ ref('stg_payments') }}

),

order_payments as (

    select
        order_id,

        {% for payment_method in payment_methods -%}
        sum(case when payment_method = '{{ payment_method }}' then {{ cents_to_dollars('amount') }} else 0 end) as {{ payment_method }}_amount,
        {% endfor -%}

        sum({{ cents_to_dollars('amount') }}) as total_amount

    from payments

    group by order_id

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.order_date,
        orders.status,

        {% for payment_method in payment_methods -%}

        order_payments.{{ payment_method }}_amount,

        {% endfor -%}

        order_payments.total_amount as amount

    from orders


    left join order_payments
        on orders.order_id = order_payments.order_id

)

select * from final
{% if var('limit', none) is not none %}limit {{ var('limit') }}{% endif %}
`

// benchText is the same model for text/template.
const benchText = `{{ config "table" }}
with orders as (

    select * from {{ ref "stg_orders" }}

),

payments as (

    select * from {{ ref "stg_payments" }}

),

order_payments as (

    select
        order_id,

        {{ range .Methods -}}
        sum(case when payment_method = '{{ . }}' then {{ template "dollars" "amount" }} else 0 end) as {{ . }}_amount,
        {{ end -}}

        sum({{ template "dollars" "amount" }}) as total_amount

    from payments

    group by order_id

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.order_date,
        orders.status,

        {{ range .Methods -}}

        order_payments.{{ . }}_amount,

        {{ end -}}

        order_payments.total_amount as amount

    from orders


    left join order_payments
        on orders.order_id = order_payments.order_id

)

select * from final
{{ if .Limit }}limit {{ .Limit }}{{ end }}
{{- define "dollars" -}}
round(cast({{ . }} as numeric) / 100, 2)
{{- end -}}`

func benchEnv() *Environment {
	env := New()
	env.Globals["config"] = Func(func(c *Call, a Args) (Value, error) { return "", nil })
	env.Globals["ref"] = Func(func(c *Call, a Args) (Value, error) {
		return `"analytics"."` + pyStr(a.Pos[0]) + `"`, nil
	})
	env.Globals["var"] = Func(func(c *Call, a Args) (Value, error) {
		if len(a.Pos) > 1 {
			return a.Pos[1], nil
		}
		return Undefined{Name: pyStr(a.Pos[0])}, nil
	})
	return env
}

func benchTextTemplate() *template.Template {
	return template.Must(template.New("model").Funcs(template.FuncMap{
		"config": func(string) string { return "" },
		"ref":    func(name string) string { return `"analytics"."` + name + `"` },
	}).Parse(benchText))
}

var benchData = struct {
	Methods []string
	Limit   any
}{Methods: []string{"credit_card", "coupon", "bank_transfer", "gift_card"}}

func TestBenchTemplatesAgree(t *testing.T) {
	// The baseline must do the same work: its output is compared with ours
	// once whitespace is normalised (text/template trims differently).
	tpl, err := benchEnv().Parse("model.sql", benchModel)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := tpl.Render(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := benchTextTemplate().Execute(&b, benchData); err != nil {
		t.Fatal(err)
	}
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if norm(ours) != norm(b.String()) {
		t.Fatalf("the baseline renders something else:\nours:\n%s\ntext/template:\n%s", ours, b.String())
	}
}

func BenchmarkParse(b *testing.B) {
	b.Run("jinja", func(b *testing.B) {
		env := benchEnv()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := env.Parse("model.sql", benchModel); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("text_template", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchTextTemplate()
		}
	})
}

func BenchmarkRender(b *testing.B) {
	b.Run("jinja", func(b *testing.B) {
		tpl, err := benchEnv().Parse("model.sql", benchModel)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tpl.Render(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("text_template", func(b *testing.B) {
		tpl := benchTextTemplate()
		b.ReportAllocs()
		for b.Loop() {
			var sb strings.Builder
			if err := tpl.Execute(&sb, benchData); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkProject parses and renders 2,000 distinct models on all cores,
// as compiling a large project does.
func BenchmarkProject(b *testing.B) {
	const models = 2000
	sources := make([]string, models)
	for i := range sources {
		sources[i] = strings.ReplaceAll(benchModel, "stg_orders", fmt.Sprintf("stg_orders_%d", i))
	}
	b.Run("jinja", func(b *testing.B) {
		env := benchEnv()
		for b.Loop() {
			runParallel(models, func(i int) error {
				tpl, err := env.Parse(fmt.Sprintf("m%d.sql", i), sources[i])
				if err != nil {
					return err
				}
				_, err = tpl.Render(context.Background(), nil)
				return err
			})
		}
	})
	b.Run("text_template", func(b *testing.B) {
		texts := make([]string, models)
		for i := range texts {
			texts[i] = strings.ReplaceAll(benchText, "stg_orders", fmt.Sprintf("stg_orders_%d", i))
		}
		for b.Loop() {
			runParallel(models, func(i int) error {
				tpl, err := template.New("m").Funcs(template.FuncMap{
					"config": func(string) string { return "" },
					"ref":    func(name string) string { return name },
				}).Parse(texts[i])
				if err != nil {
					return err
				}
				return tpl.Execute(io.Discard, benchData)
			})
		}
	})
}

// BenchmarkVersusTextTemplate interleaves our engine and text/template in
// every iteration and reports their times and ratio, so that a noisy shared
// machine slows both alike.
func BenchmarkVersusTextTemplate(b *testing.B) {
	env := benchEnv()
	tpl, err := env.Parse("model.sql", benchModel)
	if err != nil {
		b.Fatal(err)
	}
	text := benchTextTemplate()
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		ours, base  func() error
		opsPerRound int
	}{
		{"parse", func() error { _, err := env.Parse("model.sql", benchModel); return err },
			func() error { benchTextTemplate(); return nil }, 1},
		{"render", func() error { _, err := tpl.Render(ctx, nil); return err },
			func() error { var sb strings.Builder; return text.Execute(&sb, benchData) }, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var ours, base time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := tc.ours(); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := tc.base(); err != nil {
					b.Fatal(err)
				}
				ours, base = ours+t1.Sub(t0), base+time.Since(t1)
			}
			n := float64(b.N)
			b.ReportMetric(float64(ours.Nanoseconds())/n, "jinja-ns/op")
			b.ReportMetric(float64(base.Nanoseconds())/n, "text/template-ns/op")
			b.ReportMetric(float64(ours)/float64(base), "ratio")
		})
	}
}

func runParallel(n int, f func(i int) error) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					panic(err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
