{{ config(dist='even', sort=['order_date', 'status'], sort_type='interleaved') }}
select order_date::date as order_date, status, count(*) as orders, sum(amount) as amount
from {{ ref('orders') }}
group by 1, 2
