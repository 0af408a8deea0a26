/** An error for a person, announced to screen readers (role=alert); nothing when there is none. */
export function ErrorLine(props: { message: string | undefined }) {
  if (!props.message) return null;
  return (
    <p role="alert" class="error">
      {props.message}
    </p>
  );
}
