{{ config(dist='all') }}
select distinct tier from {{ ref('stg_customers') }}
