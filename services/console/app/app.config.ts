export default defineAppConfig({
  ui: {
    colors: { primary: "sky", neutral: "slate" },
  },
});
