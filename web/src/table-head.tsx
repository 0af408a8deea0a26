/** A table's header row; numeric columns (listed in `numeric`) are right-aligned like their cells. */
export function TableHead(props: { columns: string[]; numeric: string[]; rowIndex?: number }) {
  return (
    <thead>
      <tr aria-rowindex={props.rowIndex}>
        {props.columns.map((column) => (
          <th key={column} scope="col" class={props.numeric.includes(column) ? "num" : undefined}>
            {column}
          </th>
        ))}
      </tr>
    </thead>
  );
}
