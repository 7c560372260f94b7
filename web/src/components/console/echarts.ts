// The part of ECharts the console draws with (line charts on a canvas), registered once. The
// charts import this module lazily, so ECharts is a chunk of its own, fetched when a chart is
// first shown, never part of a face's first load (bench/web_budget.py).
import { LineChart } from 'echarts/charts'
import { GridComponent, LegendComponent, MarkLineComponent, TooltipComponent } from 'echarts/components'
import { init, use } from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'

use([LineChart, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, CanvasRenderer])

export { init }
