with child as (
    select "country_code" as from_field
    from "main"."stg_customers"
    where "country_code" is not null
),
parent as (
    select "country_code" as to_field
    from "main"."country_codes"
)
select from_field
from child
left join parent on child.from_field = parent.to_field
where parent.to_field is null